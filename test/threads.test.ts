// The worker pool is what makes requests concurrent: 8 requests to an app sleeping 0.5 s overlap with
// --threads 8 and are serialised with --threads 1. Workers asleep are woken for queued requests even
// after fast ones, when the pool keeps only two awake (pool.ts, AWAKE_WANTED), and workers waiting on
// a stalled client do not count as awake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { fixture, get, start, type RunningServer } from "./helpers/server.ts";

const sleepApp = fixture("sleep.wsgi");
const barrierApp = fixture("barrier.wsgi");

async function eightConcurrent(server: RunningServer): Promise<number> {
  // Warm up: the interpreter and the script are loaded before timing.
  expect((await get(`${server.url}/sleep?0`)).text).toBe("slept");
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 8 }, () => get(`${server.url}/sleep?0.5`)));
  const elapsed = (performance.now() - started) / 1000;
  for (const r of results) expect(r).toMatchObject({ status: 200, text: "slept" });
  return elapsed;
}

describe("--threads 8", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "8", "--alias", `/sleep=${sleepApp}`, "--alias", `/barrier=${barrierApp}`] });
  });
  afterAll(() => server?.stop());

  test("after a run of fast requests, 8 that block run at once on all 8 threads", async () => {
    // The fast ones leave the pool expecting quick requests, with two workers awake and six asleep.
    for (let i = 0; i < 200; i++) expect((await get(`${server.url}/barrier?1`)).text).toBe("passed");
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(Array.from({ length: 8 }, () => get(`${server.url}/barrier?8`)));
      for (const r of results) expect(r).toMatchObject({ status: 200, text: "passed" });
    }
  });

  test("8 concurrent requests of 0.5 s finish together (< 2.5 s)", async () => {
    const elapsed = await eightConcurrent(server);
    console.log(`--threads 8: 8 x 0.5 s requests took ${elapsed.toFixed(2)} s`);
    expect(elapsed).toBeGreaterThanOrEqual(0.5);
    expect(elapsed).toBeLessThan(2.5);
  });
});

describe("--threads 1", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "1", "--alias", `/sleep=${sleepApp}`] });
  });
  afterAll(() => server?.stop());

  test("8 concurrent requests of 0.5 s are serialised (>= 3.5 s)", async () => {
    const elapsed = await eightConcurrent(server);
    console.log(`--threads 1: 8 x 0.5 s requests took ${elapsed.toFixed(2)} s`);
    expect(elapsed).toBeGreaterThanOrEqual(3.5);
  });
});

describe("--threads 3, two of them held by clients that stall", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "3", "--alias", `/s=${fixture("stream-ring.wsgi")}`, "--alias", `/hello=${fixture("hello.wsgi")}`,
      "--alias", `/d=${fixture("direct-body.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  /**
   * Two clients each send `request` and then stall (`read` false: they never read the response), for a
   * second; then the median time of 100 sequential hello requests, in ms.
   */
  async function medianHelloBeside(request: string, read: boolean): Promise<number> {
    expect((await get(`${server.url}/hello`)).text).toBe("Hello World!");
    const holders = [0, 1].map(() => {
      const socket = connect(server.port, "127.0.0.1", () => socket.write(request));
      if (!read) socket.pause(); // the kernel's buffers, then the ring, fill up
      return socket;
    });
    try {
      await Bun.sleep(1000);
      const times: number[] = [];
      for (let i = 0; i < 100; i++) {
        const started = performance.now();
        expect((await get(`${server.url}/hello`)).text).toBe("Hello World!");
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[50]!;
    } finally {
      for (const socket of holders) socket.destroy();
    }
  }

  test("the third thread serves at once, not after the pool's 1 ms wake-up timer", async () => {
    // The two workers wait for the HTTP thread (their ring of pieces full) and take no queued request:
    // the wake rule counted them awake, so each request to the free, sleeping worker waited for the
    // starving timer (a median of 2.2 ms here, against 0.3 ms when they are counted away).
    const median = await medianHelloBeside("GET /s/over?declared=100000000&total=100000000&fill=65 HTTP/1.1\r\nHost: t\r\n\r\n", false);
    console.log(`hello beside two stalled downloads: median ${median.toFixed(2)} ms`);
    expect(median).toBeLessThan(1);
  });

  test("the same beside two uploads that stall, read by their workers from the socket", async () => {
    // 1 MiB of a 100 MB body, then nothing more: the workers wait in poll() for the rest.
    const median = await medianHelloBeside(`POST /d/digest?read64k HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n${"x".repeat(1 << 20)}`, true);
    console.log(`hello beside two stalled uploads: median ${median.toFixed(2)} ms`);
    expect(median).toBeLessThan(1);
  });
});
