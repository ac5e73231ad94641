// Application groups: %{RESOURCE} (the default), %{SERVER}, %{GLOBAL} and literal names; which
// aliases share an interpreter and which are isolated.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, getJson, start, type RunningServer } from "./helpers/server.ts";

const state = fixture("state.wsgi");
const environ = fixture("environ.wsgi");

describe("application groups", () => {
  let server: RunningServer;
  const serverName = "groups.test";
  beforeAll(async () => {
    server = await start({
      args: [
        "--server-name", serverName,
        "--log-level", "info",
        "--alias", `/r1=${state}`, // %{RESOURCE}
        "--alias", `/r2=${state}`, // %{RESOURCE}: another interpreter
        "--alias", `/r-env=${environ}`,
        "--alias", `/s1=${state},application-group=%{SERVER}`,
        "--alias", `/s2=${state},application-group=%{SERVER}`,
        "--alias", `/g1=${state},application-group=%{GLOBAL}`,
        "--alias", `/g2=${state},application-group=%{GLOBAL}`,
        "--alias", `/g-env=${environ},application-group=%{GLOBAL}`,
        "--alias", `/n1=${state},application-group=shared-name`,
        "--alias", `/n2=${state},application-group=shared-name`,
        "--alias", `/n-env=${environ},application-group=shared-name`,
        "--alias", `/other=${state},application-group=other-name`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("the default group is %{RESOURCE} = host:port|/alias", async () => {
    const env = await getJson(`${server.url}/r-env`);
    expect(env["mod_wsgi.application_group"]).toBe(`${serverName}:${server.port}|/r-env`);
    const r1 = await getJson(`${server.url}/r1`);
    expect(r1.group).toBe(`${serverName}:${server.port}|/r1`);
  });

  test("two %{RESOURCE} aliases run in two isolated interpreters", async () => {
    const a1 = await getJson(`${server.url}/r1`);
    const a2 = await getJson(`${server.url}/r1`);
    const b1 = await getJson(`${server.url}/r2`);
    expect(a2.hits).toBe(a1.hits + 1);
    expect(a2.shared).toBe(a1.shared + 1);
    // /r2 has its own module and its own sys.modules: /r1's requests are invisible to it.
    expect(b1.hits).toBe(1);
    expect(b1.shared).toBe(1);
    expect(b1.modules_id).not.toBe(a1.modules_id);
    expect(a2.modules_id).toBe(a1.modules_id);
  });

  test("two aliases naming one group share one interpreter", async () => {
    const a = await getJson(`${server.url}/n1`);
    const b = await getJson(`${server.url}/n2`);
    expect(a.group).toBe("shared-name");
    expect(b.group).toBe("shared-name");
    expect(b.modules_id).toBe(a.modules_id);
    // Same script file in the same interpreter: one module, one counter.
    expect(b.hits).toBe(a.hits + 1);
    expect(b.shared).toBe(a.shared + 1);
    const env = await getJson(`${server.url}/n-env`);
    expect(env._python.modules_id).toBe(a.modules_id);
    const other = await getJson(`${server.url}/other`);
    expect(other.group).toBe("other-name");
    expect(other.modules_id).not.toBe(a.modules_id);
    expect(other.shared).toBe(1);
  });

  test("%{SERVER} is host:port, shared by the aliases using it", async () => {
    const a = await getJson(`${server.url}/s1`);
    const b = await getJson(`${server.url}/s2`);
    expect(a.group).toBe(`${serverName}:${server.port}`);
    expect(b.group).toBe(a.group);
    expect(b.modules_id).toBe(a.modules_id);
    expect(b.shared).toBe(a.shared + 1);
  });

  test("%{GLOBAL} is the main interpreter (group ''), sharing sys.modules across aliases", async () => {
    const a = await getJson(`${server.url}/g1`);
    const b = await getJson(`${server.url}/g2`);
    expect(a.group).toBe("");
    expect(b.group).toBe("");
    expect(b.modules_id).toBe(a.modules_id);
    expect(b.shared).toBe(a.shared + 1);
    const env = await getJson(`${server.url}/g-env`);
    expect(env["mod_wsgi.application_group"]).toBe("");
    expect(env._python.modules_id).toBe(a.modules_id);
    // ...and it is not any of the sub-interpreters.
    const r = await getJson(`${server.url}/r1`);
    const n = await getJson(`${server.url}/n1`);
    const s = await getJson(`${server.url}/s1`);
    expect(new Set([a.modules_id, r.modules_id, n.modules_id, s.modules_id]).size).toBe(4);
  });

  test("sub-interpreters are created once each and logged", async () => {
    const log = await server.waitForLog(/Create interpreter 'other-name'/);
    const created = [...log.matchAll(/Create interpreter '([^']*)'/g)].map((m) => m[1]);
    expect(new Set(created).size).toBe(created.length);
    expect(created).toContain("shared-name");
    expect(created).toContain(`${serverName}:${server.port}|/r1`);
    expect(created).not.toContain("");
  });

  test("state survives across many requests spread over the worker threads", async () => {
    const before = (await getJson(`${server.url}/n1`)).shared;
    await Promise.all(Array.from({ length: 40 }, (_, i) => getJson(`${server.url}/${i % 2 ? "n1" : "n2"}`)));
    const after = (await getJson(`${server.url}/n2`)).shared;
    expect(after).toBe(before + 41);
  });
});

describe("the default --server-name", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/e=${environ}`] });
  });
  afterAll(() => server?.stop());

  test("is this machine's hostname", async () => {
    const { hostname } = await import("node:os");
    const env = await getJson(`${server.url}/e`);
    expect(env["mod_wsgi.application_group"]).toBe(`${hostname()}:${server.port}|/e`);
  });
});
