// --request-timeout (mod_wsgi's request-timeout): an app that runs too long gets RequestTimeout raised
// in its thread: 504 before the response started, a cut body after; the error log shows where the app
// was; the same worker (--threads 1) serves the next request; apps' `except Exception:` cannot keep it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { discoverPythons } from "./helpers/pythons.ts";
import { fixture, get, run, start, type RunningServer } from "./helpers/server.ts";

const app = fixture("timeouts.wsgi");
const TIMEOUT_LINE = `Request timeout expired for WSGI script '${app}': it ran longer than 1 s`;

describe("--request-timeout 1 --threads 1", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "1", "--request-timeout", "1", "--alias", `/t=${app}`] });
  });
  afterAll(() => server?.stop());

  /** The one worker is free and fine: a normal request right after. */
  async function workerServesAgain(): Promise<void> {
    expect(await get(`${server.url}/t/`, { signal: AbortSignal.timeout(2000) })).toMatchObject({ status: 200, text: "ok" });
  }

  const interrupted: [string, string, string][] = [
    ["a pure-Python busy loop", "busy", "in spin_forever"],
    ["a loop of short sleeps", "sleep", "in nap_forever"],
    ["an app catching Exception around the loop", "swallow", "in swallow_everything"],
  ];
  for (const [what, path, frame] of interrupted) {
    test(`${what}: 504 within 3 s, the stack in the log, the worker free again`, async () => {
      const mark = server.log().length;
      const started = performance.now();
      const r = await get(`${server.url}/t/${path}`, { signal: AbortSignal.timeout(5000) });
      const seconds = (performance.now() - started) / 1000;
      expect(r.status).toBe(504);
      expect(r.text).toContain("Gateway Timeout");
      expect(r.text).not.toContain("swallowed");
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThan(3);
      const log = await server.waitForLog(/RequestTimeout/, 3000, mark);
      expect(log).toContain(TIMEOUT_LINE);
      expect(log).toContain(frame);
      expect(log).toMatch(/\[wsgi:error\].*Request timeout expired/);
      await workerServesAgain();
    });
  }

  test("a request shorter than the timeout is unaffected", async () => {
    const mark = server.log().length;
    expect(await get(`${server.url}/t/short`)).toMatchObject({ status: 200, text: "ok" });
    await Bun.sleep(1500); // past the timeout, counted from that request's start
    expect(server.log().slice(mark)).not.toContain("Request timeout");
    await workerServesAgain();
  });

  test("a streamed response running past the timeout is cut, and the worker is free again", async () => {
    const mark = server.log().length;
    const response = await fetch(`${server.url}/t/stream`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200); // the head went out before the timeout
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let body = "";
    let cut = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        body += decoder.decode(value, { stream: true });
      }
    } catch {
      cut = true; // an incomplete chunked body: the connection was cut, not the stream ended
    }
    expect(cut).toBe(true);
    expect(body).toBe("first chunk\n");
    const log = await server.waitForLog(/RequestTimeout/, 3000, mark);
    expect(log).toContain(TIMEOUT_LINE);
    expect(log).toContain("in stream_forever");
    await workerServesAgain();
  });

  test("raised once per request: an app that swallows it (bare except) runs on and answers", async () => {
    const r = await get(`${server.url}/t/catch-all`, { signal: AbortSignal.timeout(6000) });
    expect(r).toMatchObject({ status: 200, text: "caught 1" });
    await workerServesAgain();
  });
});

// The injection differs between versions (3.13 moved the eval breaker per thread) and between the main
// interpreter and sub-interpreters: each supported Python, in both.
for (const python of discoverPythons()) {
  describe(`Python ${python.version} (${python.source}): --request-timeout in both kinds of interpreter`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await start({
        python: python.executable,
        args: ["--threads", "1", "--request-timeout", "1", "--alias", `/sub=${app}`, "--alias", `/main=${app},application-group=%{GLOBAL}`],
      });
    });
    afterAll(() => server?.stop());

    for (const [where, prefix] of [["a sub-interpreter", "/sub"], ["the main interpreter", "/main"]]) {
      test(`${where}: a busy loop gets 504, then the worker serves again`, async () => {
        const mark = server.log().length;
        expect((await get(`${server.url}${prefix}/busy`, { signal: AbortSignal.timeout(5000) })).status).toBe(504);
        expect(await server.waitForLog(/RequestTimeout/, 3000, mark)).toContain("in spin_forever");
        expect(await get(`${server.url}${prefix}/`, { signal: AbortSignal.timeout(2000) })).toMatchObject({ status: 200, text: "ok" });
      });
    }
  });
}

describe("--request-timeout on the command line", () => {
  test("--help documents it", async () => {
    const r = await run(["--help"]);
    expect(r.stdout).toContain("--request-timeout S");
  });

  test("a value that is not a whole number is a usage error", async () => {
    const r = await run(["--request-timeout", "soon", app]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--request-timeout.*'soon'/);
  });
});
