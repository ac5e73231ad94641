// The library (src/lib/): createServer(), fetch() with no socket, listen(), close(), onLog/onRequest,
// status() and the typed errors, driven by test/fixtures/library/scenario.mjs as a host would drive
// them, on Bun (from source and from the bundle) and on Node (the bundle, dist/lib/, which is what
// the npm package ships). Each run is a process of its own: one embedded Python per process.
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { SERVER_SOFTWARE } from "../src/version.ts";
import { ensureLibrary } from "./helpers/library.ts";
import { FIXTURES, ROOT } from "./helpers/server.ts";

const SCENARIO = join(FIXTURES, "library/scenario.mjs");
const python = process.env.WSGI_BIN_PYTHON ?? "python3";

async function scenario(runtime: string[], library: string): Promise<any> {
  const proc = Bun.spawn([...runtime, SCENARIO, library, FIXTURES, python], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || !line) throw new Error(`${runtime.join(" ")} ${library}: exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  return JSON.parse(line.slice("RESULT ".length));
}

const node = Bun.which("node");

beforeAll(() => ensureLibrary());

const runs: [string, () => string[], string][] = [
  ["Bun, from source", () => [process.execPath], join(ROOT, "src/lib/index.ts")],
  ["Bun, the bundle", () => [process.execPath], join(ROOT, "dist/lib/index.js")],
  ["Node, the bundle", () => {
    if (!node) throw new Error("node is not installed: the library's Node test needs Node 20 or later on PATH");
    return [node];
  }, join(ROOT, "dist/lib/index.js")],
];

for (const [name, runtime, library] of runs) {
  describe(`library on ${name}`, () => {
    let seen: any;
    beforeAll(async () => {
      seen = await scenario(runtime(), library);
    });

    test("it ran on the runtime it says", () => {
      expect(seen.runtime).toBe(name.startsWith("Node") ? "node" : "bun");
      expect(seen.python.version).toMatch(/^3\.\d+\.\d+$/);
    });

    test("typed errors that say what to do: no Python, a bad alias, a bad number", () => {
      expect(seen.pythonNotFound.instanceOf).toEqual(["PythonNotFoundError", "WsgiBinError"]);
      expect(seen.pythonNotFound.code).toBe("WSGI_BIN_PYTHON_NOT_FOUND");
      expect(seen.pythonNotFound.message).toContain("/nonexistent/python3");
      expect(seen.pythonNotFound.message).toContain('give the interpreter as { python: "/path/to/python3" }');
      expect(seen.badAlias.instanceOf).toEqual(["ConfigurationError", "WsgiBinError"]);
      expect(seen.badAlias.message).toContain("must start with '/'");
      expect(seen.badThreads.message).toContain("'threads' wants a whole number from 1 to 1024, got 0");
    });

    test("fetch() answers a Request in process: body, headers, HEAD, 404", () => {
      expect(seen.hello).toEqual({ status: 200, type: "text/plain", body: "Hello World!" });
      expect(seen.head).toEqual({ status: 200, type: "text/plain", body: "" });
      expect(seen.missing.status).toBe(404);
      expect(seen.missing.body).toContain("Not Found");
    });

    test("the environ of a fetched request: the alias split, the URL's host, the body's length, its own group", () => {
      expect(seen.env).toEqual({
        scriptName: "/env", pathInfo: "/a b", query: "q=1", method: "POST", contentLength: "6",
        contentType: "application/x-www-form-urlencoded", host: "desk.app:8123", serverName: "desk.app", custom: "yes",
        remoteAddr: "10.1.2.3", group: "envgroup",
      });
    });

    test("a streamed request body of unknown length reaches the app whole", () => {
      const expected = createHash("sha256").update(Buffer.alloc(3 << 20, 97)).digest("hex");
      expect(seen.upload).toMatchObject({ status: 200, length: 3 << 20, sha256: expected, CONTENT_LENGTH: null });
    });

    test("a streamed response keeps backpressure: the app waits for the reader; cancelling closes its iterable", () => {
      expect(seen.backpressure.status).toBe(200);
      expect(seen.backpressure.firstChunk).toBe(65536);
      // 1000 chunks asked for, the reader paused after the first: the app is held a few chunks ahead:
      // the first, as many as the channel's ring holds (16 of these, its 1 MiB; the reader's buffer
      // holds pieces still in the ring) and the one the app has made and waits to put there.
      const ahead = 20;
      expect(seen.backpressure.whilePaused.produced).toBeLessThan(ahead);
      expect(seen.backpressure.whilePaused.closed).toBe(false);
      expect(seen.backpressure.afterCancel.closed).toBe(true);
      expect(seen.backpressure.afterCancel.produced).toBeLessThan(ahead);
      expect(seen.backpressure.wholeLength).toBe(20 * 65536);
    });

    test("listen() on port 0 resolves to the URL a real client reaches; a second listen() is refused", () => {
      expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(seen.overSocket).toEqual({ status: 200, body: "Hello World!", server: SERVER_SOFTWARE });
      expect(seen.listenTwice.instanceOf).toEqual(["ListenError", "WsgiBinError"]);
    });

    test("onRequest sees every request, from fetch() and from the socket", () => {
      const hello = seen.requests.filter((r: any) => r.target === "/hello");
      expect(hello.map((r: any) => `${r.via} ${r.method} ${r.status}`)).toEqual(["fetch GET 200", "fetch HEAD 200", "socket GET 200"]);
      expect(hello.every((r: any) => r.time === true && r.remoteAddress === "127.0.0.1")).toBe(true);
      expect(seen.requests.find((r: any) => r.target === "/nothing").status).toBe(404);
      expect(seen.requests.find((r: any) => r.target.startsWith("/env")).remoteAddress).toBe("10.1.2.3");
    });

    test("status() counts both fronts", () => {
      const hello = seen.status.aliases.find((a: any) => a.alias === "/hello");
      expect(hello.requests).toBe(3);
      expect(seen.status.totals.threads).toBe(3);
      expect(seen.status.codes["404"]).toBe(1);
    });

    test("close() lets a request in flight finish, then refuses fetch() and the socket", () => {
      expect(seen.slowDuringClose).toEqual({ status: 200, type: "text/plain", body: "slept" });
      expect(seen.closeTookMs).toBeGreaterThanOrEqual(300);
      expect(seen.fetchAfterClose.instanceOf).toEqual(["ServerClosedError", "WsgiBinError"]);
      expect(seen.socketAfterClose).toStartWith("refused");
    });

    test("a script that cannot load: ScriptLoadError from ready and listen(), with the exception; its traceback in onLog", () => {
      for (const error of [seen.brokenReady, seen.brokenListen]) {
        expect(error.instanceOf).toEqual(["ScriptLoadError", "WsgiBinError"]);
        expect(error.script).toBe(join(FIXTURES, "import-error.wsgi"));
        expect(error.reason).toBe("ModuleNotFoundError: No module named 'wsgi_bin_no_such_module_for_tests'");
        expect(error.message).toContain("alias /broken");
        expect(error.message).toContain("pythonPath");
      }
      expect(seen.brokenFetch).toBe(500);
      expect(seen.brokenLogHasTraceback).toBe(true);
      expect(seen.missingReady.reason).toBe("no such file");
      expect(seen.missingReady.message).toContain("Check the path");
    });

    test("onLog gets the error log's lines in Apache's format", () => {
      expect(seen.logs.count).toBeGreaterThan(2);
      expect(seen.logs.apacheFormat).toBe(true);
    });
  });
}
