// --alias URL=FILE: matching on segment boundaries, first declared wins, SCRIPT_NAME/PATH_INFO,
// per-alias and global application-group/callable-object, a positional script as alias /.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, get, getJson, start, type RunningServer } from "./helpers/server.ts";

const hello = fixture("hello.wsgi");
const environ = fixture("environ.wsgi");
const callables = fixture("callables.wsgi");

describe("aliases without a / alias", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: [
        "--alias", `/hello=${hello}`,
        "--alias", `/env=${environ}`,
        "--alias", `/env/deep=${hello}`, // declared after /env: /env wins for /env/deep
        "--alias", `/a/b=${hello}`, // declared before /a: wins for /a/b
        "--alias", `/a=${environ}`,
        "--alias", `/cb=${callables},callable-object=other`,
        "--alias", `/cbd=${callables}`,
        "--alias", `/named=${environ},application-group=my-named-group`,
        "--alias", `/both=${callables},application-group=g2,callable-object=other`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("/hello and /hello/x match the alias", async () => {
    expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
    expect(await get(`${server.url}/hello/x`)).toMatchObject({ status: 200, text: "Hello World!" });
    expect(await get(`${server.url}/hello/`)).toMatchObject({ status: 200, text: "Hello World!" });
  });

  test("/helloworld never matches /hello: 404", async () => {
    const r = await get(`${server.url}/helloworld`);
    expect(r.status).toBe(404);
    expect(r.text).not.toContain("Hello World!");
    expect((await get(`${server.url}/hello.txt`)).status).toBe(404);
  });

  test("a path no alias covers is a 404", async () => {
    const r = await get(`${server.url}/nothing/here`);
    expect(r.status).toBe(404);
    expect(r.text).toContain("Not Found");
    expect((await get(`${server.url}/`)).status).toBe(404);
  });

  test("SCRIPT_NAME is the alias and PATH_INFO the rest", async () => {
    let env = await getJson(`${server.url}/env`);
    expect(env.SCRIPT_NAME).toBe("/env");
    expect(env.PATH_INFO).toBe("");
    env = await getJson(`${server.url}/env/some/where?x=1`);
    expect(env.SCRIPT_NAME).toBe("/env");
    expect(env.PATH_INFO).toBe("/some/where");
    expect(env.QUERY_STRING).toBe("x=1");
    env = await getJson(`${server.url}/env/`);
    expect(env.PATH_INFO).toBe("/");
  });

  test("PATH_INFO is percent-decoded, REQUEST_URI is not", async () => {
    const env = await getJson(`${server.url}/env/a%20b/c?q=%20`);
    expect(env.PATH_INFO).toBe("/a b/c");
    expect(env.REQUEST_URI).toBe("/env/a%20b/c?q=%20");
    expect(env.QUERY_STRING).toBe("q=%20");
  });

  test("the first declared alias wins: /env before /env/deep", async () => {
    const env = await getJson(`${server.url}/env/deep/x`);
    expect(env.SCRIPT_NAME).toBe("/env");
    expect(env.PATH_INFO).toBe("/deep/x");
  });

  test("the first declared alias wins: /a/b before /a", async () => {
    expect((await get(`${server.url}/a/b`)).text).toBe("Hello World!");
    expect((await get(`${server.url}/a/b/c`)).text).toBe("Hello World!");
    const env = await getJson(`${server.url}/a/bc`);
    expect(env.SCRIPT_NAME).toBe("/a");
    expect(env.PATH_INFO).toBe("/bc");
  });

  test("callable-object=NAME per alias", async () => {
    expect((await get(`${server.url}/cb`)).text).toBe("other:other");
    expect((await get(`${server.url}/cbd`)).text).toBe("default:application");
  });

  test("application-group=NAME per alias", async () => {
    const env = await getJson(`${server.url}/named`);
    expect(env["mod_wsgi.application_group"]).toBe("my-named-group");
  });

  test("both per-alias options together", async () => {
    expect((await get(`${server.url}/both`)).text).toBe("other:other");
  });
});

describe("alias /", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/hello=${hello}`, "--alias", `/=${environ}`] });
  });
  afterAll(() => server?.stop());

  test("alias / catches everything the others do not", async () => {
    expect((await get(`${server.url}/hello/x`)).text).toBe("Hello World!");
    let env = await getJson(`${server.url}/helloworld`);
    expect(env.SCRIPT_NAME).toBe("");
    expect(env.PATH_INFO).toBe("/helloworld");
    env = await getJson(`${server.url}/`);
    expect(env.SCRIPT_NAME).toBe("");
    expect(env.PATH_INFO).toBe("/");
  });
});

describe("global --application-group and --callable-object", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: [
        "--application-group", "global-group",
        "--callable-object", "other",
        "--alias", `/cb=${callables}`,
        "--alias", `/cb-own=${callables},callable-object=application`,
        "--alias", `/env=${environ},callable-object=application`,
        "--alias", `/env-own=${environ},callable-object=application,application-group=own`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("--callable-object is the default callable; an alias option overrides it", async () => {
    expect((await get(`${server.url}/cb`)).text).toBe("other:other");
    expect((await get(`${server.url}/cb-own`)).text).toBe("default:application");
  });

  test("--application-group is the default group; an alias option overrides it", async () => {
    expect((await getJson(`${server.url}/env`))["mod_wsgi.application_group"]).toBe("global-group");
    expect((await getJson(`${server.url}/env-own`))["mod_wsgi.application_group"]).toBe("own");
  });
});

describe("a positional script", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: [environ], cwd: import.meta.dir });
  });
  afterAll(() => server?.stop());

  test("is mounted at /", async () => {
    const env = await getJson(`${server.url}/anything/at/all`);
    expect(env.SCRIPT_NAME).toBe("");
    expect(env.PATH_INFO).toBe("/anything/at/all");
    expect(env.SCRIPT_FILENAME).toBe(environ);
  });
});

describe("a relative script path", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", "/rel=fixtures/hello.wsgi"], cwd: import.meta.dir });
  });
  afterAll(() => server?.stop());

  test("is resolved against the working directory", async () => {
    expect((await get(`${server.url}/rel`)).text).toBe("Hello World!");
  });
});
