// The worker pool is what makes requests concurrent: 8 requests to an app sleeping 0.5 s overlap with
// --threads 8 and are serialised with --threads 1. Workers asleep are woken for queued requests even
// after fast ones, when the pool keeps only two awake (pool.ts, AWAKE_WANTED).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
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
