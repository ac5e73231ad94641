// FFI hygiene: 20,000 requests must not leak. The server's RSS (/proc/PID/status VmRSS) is sampled
// after a 2,000-request warm-up and at the end.
//
// Bound: growth below 30 MiB over 18,000 requests after warm-up. A per-request leak of one Python
// object or one koffi allocation of ~1.7 KiB would already exceed it; allocator noise and JIT warm-up
// stay well under it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fixture, start, type RunningServer } from "./helpers/server.ts";

const TOTAL = 20_000;
const WARMUP = 2_000;
const CONCURRENCY = 16;
const BOUND_MIB = 30;

function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

async function hammer(url: string, count: number): Promise<void> {
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const response = await fetch(url);
      const text = await response.text();
      if (response.status !== 200 || text !== "Hello World!") failures++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(failures).toBe(0);
}

describe("memory", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/hello=${fixture("hello.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test(`${TOTAL} requests: RSS grows less than ${BOUND_MIB} MiB after a ${WARMUP}-request warm-up`, async () => {
    const url = `${server.url}/hello`;
    const initial = rssKiB(server.pid);
    const started = performance.now();
    await hammer(url, WARMUP);
    const afterWarmup = rssKiB(server.pid);
    await hammer(url, TOTAL - WARMUP);
    const seconds = (performance.now() - started) / 1000;
    await Bun.sleep(200);
    const end = rssKiB(server.pid);
    const growth = (end - afterWarmup) / 1024;
    console.log(
      `RSS: start ${(initial / 1024).toFixed(1)} MiB, after ${WARMUP} requests ${(afterWarmup / 1024).toFixed(1)} MiB, ` +
        `after ${TOTAL} ${(end / 1024).toFixed(1)} MiB, growth ${growth.toFixed(1)} MiB ` +
        `(${TOTAL} requests in ${seconds.toFixed(1)} s, ${(TOTAL / seconds).toFixed(0)} req/s)`,
    );
    expect(growth).toBeLessThan(BOUND_MIB);
    // The server is still healthy.
    expect(await (await fetch(url)).text()).toBe("Hello World!");
  }, 240_000);
});
