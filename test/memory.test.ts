// FFI hygiene: hello must not leak. The server's RSS (/proc/PID/status VmRSS) is sampled after a
// 2,000-request warm-up and at the end, at a concurrency of 16.
//
// Bounds (growth from the end of the warm-up to the end):
//  - --threads 1, 20,000 requests: below 16 MiB. Measured +3 to +9 MiB here while the heap settles,
//    then flat (~96 MiB from 20,000 to 120,000 requests, Python's sys.getallocatedblocks() constant);
//    a leak of ~0.9 KiB per request over the 18,000 requests would exceed it.
//  - --threads 8 (the default), 20,000 requests: below 64 MiB (measured +9 to +35 MiB); a leak of
//    ~3.6 KiB per request would exceed it.
//  - --threads 16, 200,000 requests: below 100 MiB. Each worker thread has its own JavaScript heap,
//    which its koffi calls fill with small cells (N-API handle scopes), and a worker never returns to
//    the event loop where Bun runs most collections: before pool/worker-garbage.ts collected them,
//    this grew +155 MiB (and the process past 600 MiB after 15 s of wrk); with it, +60 MiB.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fixture, start, type RunningServer } from "./helpers/server.ts";

const WARMUP = 2_000;
const CONCURRENCY = 16;

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

for (const [threads, TOTAL, boundMiB] of [[1, 20_000, 16], [8, 20_000, 64], [16, 200_000, 100]] as const) {
  describe(`memory with --threads ${threads}`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await start({ args: ["--threads", String(threads), "--alias", `/hello=${fixture("hello.wsgi")}`] });
    });
    afterAll(() => server?.stop());

    test(`${TOTAL} requests: RSS grows less than ${boundMiB} MiB after a ${WARMUP}-request warm-up`, async () => {
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
        `RSS (--threads ${threads}): start ${(initial / 1024).toFixed(1)} MiB, after ${WARMUP} requests ` +
          `${(afterWarmup / 1024).toFixed(1)} MiB, after ${TOTAL} ${(end / 1024).toFixed(1)} MiB, ` +
          `growth ${growth.toFixed(1)} MiB, bound ${boundMiB} MiB (${TOTAL} requests in ${seconds.toFixed(1)} s, ` +
          `${(TOTAL / seconds).toFixed(0)} req/s)`,
      );
      expect(growth).toBeLessThan(boundMiB);
      expect(await (await fetch(url)).text()).toBe("Hello World!");
    }, 240_000);
  });
}
