// Loading WSGI scripts: failures (SyntaxError, ImportError, no callable, no file) and recovery, script
// identity by path; reloading when the file changes, and --no-reload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, utimesSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemps, fixture, get, getJson, start, tempDir, type RunningServer } from "./helpers/server.ts";

const hello = fixture("hello.wsgi");

/** Writes a script and moves its mtime forward, so a reload can never be missed for a coarse clock. */
let clock = Math.floor(Date.now() / 1000) + 100;
function writeScript(path: string, source: string): void {
  writeFileSync(path, source);
  clock += 10;
  utimesSync(path, clock, clock);
}

const textApp = (text: string) => `
hits = 0
def application(environ, start_response):
    global hits
    hits += 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s;hits=%d;reloading=%s" % (${JSON.stringify(text)}, hits, environ["mod_wsgi.script_reloading"])).encode()]
`;

afterAll(() => cleanupTemps());

describe("load failures", () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    copyFileSync(fixture("syntax-error.wsgi"), join(dir, "syntax.wsgi"));
    copyFileSync(fixture("import-error.wsgi"), join(dir, "import.wsgi"));
    copyFileSync(fixture("no-callable.wsgi"), join(dir, "nocallable.wsgi"));
    mkdirSync(join(dir, "one"));
    mkdirSync(join(dir, "two"));
    writeFileSync(join(dir, "one", "app.wsgi"), textApp("I am one"));
    writeFileSync(join(dir, "two", "app.wsgi"), textApp("I am two"));
    server = await start({
      args: [
        "--log-level", "info",
        "--alias", `/hello=${hello}`,
        "--alias", `/syntax=${join(dir, "syntax.wsgi")}`,
        "--alias", `/import=${join(dir, "import.wsgi")}`,
        "--alias", `/nocallable=${join(dir, "nocallable.wsgi")}`,
        "--alias", `/missing=${join(dir, "does-not-exist.wsgi")}`,
        // Two app.wsgi in one interpreter: their modules must not collide.
        "--alias", `/one=${join(dir, "one", "app.wsgi")},application-group=same`,
        "--alias", `/two=${join(dir, "two", "app.wsgi")},application-group=same`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("a SyntaxError gives 500 and a traceback in the log; other aliases keep working; a fix is picked up", async () => {
    const script = join(dir, "syntax.wsgi");
    const r = await get(`${server.url}/syntax`);
    expect(r.status).toBe(500);
    expect(r.text).toContain("Internal Server Error");
    expect(r.text).not.toContain("SyntaxError"); // tracebacks go to the log, not the client
    const log = await server.waitForLog(/SyntaxError/);
    expect(log).toContain(`Failed to exec Python script file '${script}'`);
    expect(log).toMatch(/Traceback \(most recent call last\)|File ".*syntax\.wsgi", line 1/);
    // Still failing, and the other aliases are unaffected meanwhile.
    expect((await get(`${server.url}/syntax`)).status).toBe(500);
    expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
    writeScript(script, textApp("syntax fixed"));
    const fixed = await get(`${server.url}/syntax`);
    expect(fixed.status).toBe(200);
    expect(fixed.text).toStartWith("syntax fixed;");
  });

  test("an ImportError gives 500 and a traceback; fixing the script recovers", async () => {
    const script = join(dir, "import.wsgi");
    const r = await get(`${server.url}/import`);
    expect(r.status).toBe(500);
    const log = await server.waitForLog(/No module named 'wsgi_bin_no_such_module_for_tests'/);
    expect(log).toMatch(/ModuleNotFoundError|ImportError/);
    expect(log).toContain(`Exception occurred processing WSGI script '${script}'`);
    expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
    writeScript(script, textApp("import fixed"));
    const fixed = await get(`${server.url}/import`);
    expect(fixed.status).toBe(200);
    expect(fixed.text).toStartWith("import fixed;");
  });

  test("a script without the callable gives 404 and a log line naming script and callable", async () => {
    const script = join(dir, "nocallable.wsgi");
    const r = await get(`${server.url}/nocallable`);
    expect(r.status).toBe(404);
    const log = await server.waitForLog(/does not contain WSGI application/);
    expect(log).toContain(`Target WSGI script '${script}' does not contain WSGI application 'application'.`);
  });

  test("a script that does not exist gives 404 and a log line", async () => {
    const r = await get(`${server.url}/missing`);
    expect(r.status).toBe(404);
    await server.waitForLog(/not found or unable to stat: .*does-not-exist\.wsgi/);
  });

  test("two scripts named app.wsgi in different directories do not collide", async () => {
    const one = await get(`${server.url}/one`);
    const two = await get(`${server.url}/two`);
    const oneAgain = await get(`${server.url}/one`);
    expect(one.text).toStartWith("I am one;hits=1");
    expect(two.text).toStartWith("I am two;hits=1");
    expect(oneAgain.text).toStartWith("I am one;hits=2");
  });
});

describe("reloading", () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, "app.wsgi"), textApp("version 1"));
    writeFileSync(join(dir, "other.wsgi"), textApp("other 1"));
    server = await start({
      args: ["--log-level", "info", "--alias", `/app=${join(dir, "app.wsgi")}`, "--alias", `/other=${join(dir, "other.wsgi")}`],
    });
  });
  afterAll(() => server?.stop());

  test("an edited script is reloaded on the next request and the log says so", async () => {
    const script = join(dir, "app.wsgi");
    expect((await get(`${server.url}/app`)).text).toBe("version 1;hits=1;reloading=1");
    expect((await get(`${server.url}/app`)).text).toBe("version 1;hits=2;reloading=1");
    expect(server.log()).not.toContain("Reloading WSGI script");
    const before = statSync(script).mtimeMs;
    writeScript(script, textApp("version 2"));
    expect(statSync(script).mtimeMs).toBeGreaterThan(before);
    // The module is executed afresh: new output, module state starts over.
    expect((await get(`${server.url}/app`)).text).toBe("version 2;hits=1;reloading=1");
    await server.waitForLog(new RegExp(`Reloading WSGI script '${script.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`));
    // Every worker thread sees the new version.
    const all = await Promise.all(Array.from({ length: 16 }, () => get(`${server.url}/app`)));
    for (const r of all) expect(r.text).toStartWith("version 2;");
    // It was reloaded once, not once per thread.
    expect(server.log().match(/Reloading WSGI script '[^']*app\.wsgi'/g)!.length).toBe(1);
    // The other script was not touched.
    expect((await get(`${server.url}/other`)).text).toStartWith("other 1;");
  });
});

describe("--no-reload", () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, "app.wsgi"), textApp("version 1"));
    server = await start({ args: ["--log-level", "info", "--no-reload", "--alias", `/app=${join(dir, "app.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("keeps the loaded script when the file changes", async () => {
    expect((await get(`${server.url}/app`)).text).toBe("version 1;hits=1;reloading=0");
    writeScript(join(dir, "app.wsgi"), textApp("version 2"));
    expect((await get(`${server.url}/app`)).text).toBe("version 1;hits=2;reloading=0");
    const env = await Promise.all(Array.from({ length: 8 }, () => get(`${server.url}/app`)));
    for (const r of env) expect(r.text).toStartWith("version 1;");
    expect(server.log()).not.toContain("Reloading WSGI script");
  });
});

describe("script_reloading in environ", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/env=${fixture("environ.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("is '1' by default", async () => {
    expect((await getJson(`${server.url}/env`))["mod_wsgi.script_reloading"]).toBe("1");
  });
});

describe("signal handlers registered by an app (mod_wsgi's WSGIRestrictSignal On)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/signals=${fixture("signals.wsgi")}`, "--alias", `/global=${fixture("signals.wsgi")},application-group=%{GLOBAL}`] });
  });
  afterAll(() => server?.stop());

  test("are logged with where they were made and ignored; the script loads (it failed with a ValueError), and the server keeps its own", async () => {
    for (const path of ["/signals", "/global"]) {
      const from = server.log().length;
      expect(await get(`${server.url}${path}`)).toMatchObject({ status: 200, text: "True True" });
      const log = await server.waitForLog(/Callback registration for signal 12 ignored[^]*signals\.wsgi", line 14, in application\n.*in_request = signal\.signal\(signal\.SIGUSR2, on_term\)$/m, 5_000, from);
      expect(log).not.toContain("ValueError");
    }
    expect(server.log()).toMatch(/Callback registration for signal 15 ignored[^]*signals\.wsgi", line 10, in <module>\n.*at_import = signal\.signal\(signal\.SIGTERM, on_term\)$/m);
    expect(server.log()).not.toMatch(/adapter\.py|signal\.py/);
    // SIGTERM is still the server's: a graceful stop, not the app's handler.
    expect(await server.stop()).toBe(0);
  });
});

describe("sys.stdin", () => {
  test("reads as /dev/null, as under Apache: an app reading it gets EOF at once, though wsgi-bin's own stdin is a pipe left open", async () => {
    const server = await start({ args: ["--alias", `/stdin=${fixture("stdin.wsgi")}`, "--alias", `/global=${fixture("stdin.wsgi")},application-group=%{GLOBAL}`], stdin: "pipe" });
    try {
      for (const path of ["/stdin", "/global"]) {
        expect(await get(`${server.url}${path}`, { signal: AbortSignal.timeout(5_000) })).toMatchObject({ status: 200, text: "'' EOFError" });
      }
    } finally {
      await server.stop();
    }
  });
});
