// The built executable (./wsgi-bin, from `npm run build`) on its own: copied alone into an empty
// directory with a WSGI script, it serves it; --help, --version and a bad flag behave.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { discoverPythons } from "./helpers/pythons.ts";
import { BUN, ROOT, cleanupTemps, get, getJson, run, start, tempDir, type RunningServer } from "./helpers/server.ts";

const BUILT = join(ROOT, "wsgi-bin");
let dir: string;
let exe: string;

beforeAll(() => {
  if (!existsSync(BUILT)) {
    // `npm test` builds first; a bare `bun test` builds here so this file never silently tests nothing.
    const build = Bun.spawnSync([BUN, join(ROOT, "build/build.ts")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`npm run build failed:\n${build.stderr.toString()}`);
  }
  dir = tempDir("wsgi-bin-binary-");
  exe = join(dir, "wsgi-bin");
  copyFileSync(BUILT, exe);
  writeFileSync(
    join(dir, "app.wsgi"),
    `import json, sys
import mod_wsgi
def application(environ, start_response):
    body = json.dumps({"hello": "from the binary", "script_name": environ["SCRIPT_NAME"],
                       "path_info": environ["PATH_INFO"], "version": "%d.%d.%d" % sys.version_info[:3],
                       "mod_wsgi": mod_wsgi.version}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`,
  );
});
afterAll(() => cleanupTemps());

describe("the executable alone in a directory", () => {
  let server: RunningServer;
  beforeAll(async () => {
    expect(readdirSync(dir).sort()).toEqual(["app.wsgi", "wsgi-bin"]);
    server = await start({ command: [exe], cwd: dir, args: ["--alias", "/app=app.wsgi"] });
  });
  afterAll(() => server?.stop());

  test("serves a WSGI script with 200", async () => {
    const r = await get(`${server.url}/app/x`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text);
    expect(body).toMatchObject({ hello: "from the binary", script_name: "/app", path_info: "/x", mod_wsgi: [4, 9, 4] });
    expect(server.log()).toContain(`Python ${body.version}`);
    expect((await get(`${server.url}/elsewhere`)).status).toBe(404);
  });

  test("serves 16 concurrent requests", async () => {
    const all = await Promise.all(Array.from({ length: 16 }, () => getJson(`${server.url}/app`)));
    for (const body of all) expect(body.hello).toBe("from the binary");
  });

  test("left nothing beside itself", () => {
    expect(readdirSync(dir).sort()).toEqual(["app.wsgi", "wsgi-bin"]);
  });
});

describe("the executable's password checks' thread", () => {
  test("an AuthUserFile's passwords are checked (on the thread the build embeds)", async () => {
    const site = tempDir("wsgi-bin-binary-auth-");
    const sha = (password: string) => `{SHA}${new Bun.CryptoHasher("sha1").update(password).digest("base64")}`;
    writeFileSync(join(site, "users"), `alice:${sha("secret")}\n`);
    copyFileSync(join(dir, "app.wsgi"), join(site, "app.wsgi"));
    const server = await start({ command: [exe], cwd: site,
      args: ["--alias", "/app=app.wsgi", "--auth-user-file", "users", "--auth-name", "binary", "--require", "valid-user"] });
    try {
      const basic = (credentials: string) => ({ headers: { Authorization: `Basic ${btoa(credentials)}` } });
      expect((await get(`${server.url}/app`)).status).toBe(401);
      expect((await get(`${server.url}/app`, basic("alice:wrong"))).status).toBe(401);
      const granted = await get(`${server.url}/app`, basic("alice:secret"));
      expect(granted.status).toBe(200);
      expect(JSON.parse(granted.text).hello).toBe("from the binary");
      expect(server.log()).toContain("AH01617: user alice: authentication failure");
    } finally {
      await server.stop();
    }
  });
});

// The build compiles adapter.py and mod_wsgi.py with every Python it finds (build/adapter-bytecode.ts);
// `npm test` builds on this machine, so each Python found here loads them precompiled, without compiling them.
describe("the adapter and the mod_wsgi module precompiled by the build", () => {
  for (const python of discoverPythons()) {
    test(`Python ${python.version} (${python.source}) loads them and serves`, async () => {
      const server = await start({ command: [exe], cwd: dir, python: python.executable, args: ["--log-level", "debug", "--alias", "/app=app.wsgi"] });
      try {
        const r = await getJson(`${server.url}/app`);
        expect(r).toMatchObject({ hello: "from the binary", version: python.version, mod_wsgi: [4, 9, 4] });
        expect(server.log()).toContain("precompiled by the build for this Python.");
        expect(server.log()).toContain("Module mod_wsgi for application group");
        expect(server.log()).not.toContain("compiled from its source");
      } finally {
        await server.stop();
      }
    });
  }
});

describe("the executable's flags", () => {
  test("--help exits 0 and lists the flags", async () => {
    const r = await run(["--help"], { command: [exe], cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: wsgi-bin");
    expect(r.stdout).toContain("--alias");
  });

  test("--version exits 0", async () => {
    const r = await run(["--version"], { command: [exe], cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wsgi-bin \d+\.\d+\.\d+/);
  });

  test("a bad flag exits 2 with a message", async () => {
    const r = await run(["--bogus-flag", "app.wsgi"], { command: [exe], cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus-flag'");
  });

  test("a positional script is served at /", async () => {
    const server = await start({ command: [exe], cwd: dir, args: ["app.wsgi"] });
    try {
      const body = await getJson(`${server.url}/some/path`);
      expect(body).toMatchObject({ script_name: "", path_info: "/some/path" });
    } finally {
      await server.stop();
    }
  });
});
