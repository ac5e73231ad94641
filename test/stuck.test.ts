// A request --request-timeout cannot end (a C call that does not return, with or without the GIL)
// gets its process replaced: still running another timeout after its RequestTimeout was due, the
// process logs why and asks the supervisor for a successor, which takes the port; the old one drains
// for --graceful-timeout and exits. Requests that RequestTimeout does end, and a worker waiting for a
// slow client, are not reasons to replace anything.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { alive, APACHE_LOG_LINE, fixture, start, type RunningServer } from "./helpers/server.ts";

const app = fixture("stuck.wsgi");
const STUCK_LINE = /Request time limit exceeded: worker thread \d+ has run one request for [\d.]+ s, past --request-timeout 1 s/;

async function pid(server: RunningServer): Promise<number> {
  const response = await fetch(`${server.url}/s/`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5000) });
  expect(response.status).toBe(200);
  return Number(await response.text());
}


describe("--request-timeout 1: a request stuck in C", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: ["--threads", "2", "--request-timeout", "1", "--graceful-timeout", "1", "--log-level", "info", "--alias", `/s=${app}`],
    });
  });
  afterAll(() => server?.stop());

  for (const [what, path] of [["time.sleep(30), GIL released", "/sleep"], ["libc sleep(30) through ctypes.PyDLL, GIL held", "/gil"]]) {
    test(`${what}: logged, the process replaced within seconds, the old one gone`, async () => {
      const old = await pid(server);
      const mark = server.log().length;
      const started = performance.now();
      const stuck = fetch(`${server.url}/s${path}`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.status, () => "cut");
      const log = await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) has a request stuck past its request-timeout: replacing it`), 10_000, mark);
      const seconds = (performance.now() - started) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(2); // the timeout, then as long again
      expect(seconds).toBeLessThan(6); // long before the C call returns
      const line = log.split("\n").find((l) => STUCK_LINE.test(l))!;
      expect(line).toMatch(APACHE_LOG_LINE);
      expect(line).toContain(`[wsgi:error] [pid ${old}:`);
      expect(line).toContain(`replacing process ${old}.`);
      await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) stopped \\(exit code 0\\)`), 10_000, mark);
      expect(alive(old)).toBe(false);
      expect(await stuck).toBe("cut"); // its connection closed when the old process stopped
      const successor = await pid(server);
      expect(successor).not.toBe(old);
    }, 30_000);
  }

  test("a busy loop RequestTimeout ends (504) does not get its process replaced", async () => {
    const old = await pid(server);
    const mark = server.log().length;
    expect((await fetch(`${server.url}/s/spin`, { signal: AbortSignal.timeout(5000) })).status).toBe(504);
    await Bun.sleep(2500);
    expect(server.log().slice(mark)).not.toContain("Request time limit exceeded");
    expect(await pid(server)).toBe(old);
  });

  test("a worker waiting past the timeouts for a client that stopped reading does not get its process replaced", async () => {
    const old = await pid(server);
    const mark = server.log().length;
    let received = 0;
    let stalled = true;
    const socket = connect(server.port, "127.0.0.1", () => socket.write("GET /s/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      received += chunk.length;
      if (stalled) socket.pause(); // the first bytes, then nothing: the 64 MiB cannot all fit in socket buffers
    });
    await Bun.sleep(3500);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(64 << 20);
    expect(server.log().slice(mark)).not.toContain("Request time limit exceeded");
    stalled = false;
    socket.resume(); // reading again: the worker continues, and its pending RequestTimeout cuts the body
    await closed;
    expect(received).toBeLessThan(64 << 20);
    expect(await pid(server)).toBe(old);
  }, 20_000);
});
