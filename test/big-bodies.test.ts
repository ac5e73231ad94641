// Bodies stream both ways in bounded memory: an upload read in 64 KiB pieces and a generated download
// taken by a slow client each keep the server's RSS growth under 64 MiB. CI moves 256 MiB each way;
// WSGI_BIN_BIG=1 moves 1 GiB (the size; bench/big-bodies.ts compares it with Apache).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { fixture, type RunningServer, start } from "./helpers/server.ts";

const TOTAL = process.env.WSGI_BIN_BIG ? 1 << 30 : 256 << 20;
const BOUND_MIB = 64;

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

/** Samples the server's RSS every 20 ms while `work` runs; returns the growth of the peak over the start, in MiB. */
async function peakGrowth(pid: number, work: () => Promise<void>): Promise<number> {
  const before = rssKiB(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssKiB(pid));
  return (peak - before) / 1024;
}

let server: RunningServer;
beforeAll(async () => {
  server = await start({ args: ["--alias", `/big=${fixture("big-bodies.wsgi")}`, "--threads", "2"] });
  await fetch(`${server.url}/big/closed`); // the script is loaded before anything is measured
});
afterAll(() => server?.stop());

describe(`${TOTAL >> 20} MiB bodies in bounded memory`, () => {
  test("an upload read in 64 KiB pieces arrives whole; RSS grows less than 64 MiB", async () => {
    const piece = Buffer.alloc(65536, 0x33);
    let crc = 0;
    for (let sent = 0; sent < TOTAL; sent += piece.length) crc = crc32(piece, crc);
    let answer = "";
    const growth = await peakGrowth(server.pid, () => new Promise((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1", async () => {
        socket.write(`POST /big/upload HTTP/1.1\r\nHost: t\r\nContent-Length: ${TOTAL}\r\nConnection: close\r\n\r\n`);
        for (let sent = 0; sent < TOTAL; sent += piece.length) {
          if (!socket.write(piece)) await new Promise((r) => socket.once("drain", r));
        }
      });
      socket.on("data", (chunk) => (answer += chunk.toString()));
      socket.on("close", () => resolve());
      socket.on("error", reject);
    }));
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
    expect(body).toEqual({ bytes: TOTAL, crc });
    console.log(`upload of ${TOTAL >> 20} MiB: peak RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(BOUND_MIB);
  }, 300_000);

  test("a generated download to a slow reader arrives whole; RSS grows less than 64 MiB; close() runs", async () => {
    const closedBefore = (await (await fetch(`${server.url}/big/closed`)).json()).download;
    let received = 0;
    const growth = await peakGrowth(server.pid, () => new Promise((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1", () => socket.write(`GET /big/download?${TOTAL} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`));
      const slowUntil = Date.now() + 2_000; // the first two seconds: 1 MiB every 50 ms, far slower than the app
      let sinceBreak = 0;
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        sinceBreak += chunk.length;
        if (Date.now() < slowUntil && sinceBreak >= 1 << 20) {
          sinceBreak = 0;
          socket.pause();
          setTimeout(() => socket.resume(), 50);
        }
      });
      socket.on("close", () => resolve());
      socket.on("error", reject);
    }));
    // The head and the chunked framing (64 KiB chunks: "10000\r\n" + data + "\r\n") come on top of the body.
    const chunks = TOTAL / 65536;
    expect(received).toBeGreaterThan(TOTAL + chunks * 9);
    expect(received).toBeLessThan(TOTAL + chunks * 9 + 1024);
    console.log(`download of ${TOTAL >> 20} MiB to a slow reader: peak RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(BOUND_MIB);
    await Bun.sleep(100);
    expect((await (await fetch(`${server.url}/big/closed`)).json()).download).toBe(closedBefore + 1);
  }, 300_000);

  test("a client leaving mid-download is noticed at once: close() runs within a second", async () => {
    const closedBefore = (await (await fetch(`${server.url}/big/closed`)).json()).download;
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, "127.0.0.1", () => socket.write(`GET /big/download?${2 ** 40} HTTP/1.1\r\nHost: t\r\n\r\n`));
      let received = 0;
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > 4 << 20) {
          socket.destroy();
          resolve();
        }
      });
    });
    const left = Date.now();
    let closed = closedBefore;
    while (closed === closedBefore && Date.now() - left < 5_000) {
      await Bun.sleep(50);
      closed = (await (await fetch(`${server.url}/big/closed`)).json()).download;
    }
    expect(closed).toBe(closedBefore + 1);
    expect(Date.now() - left).toBeLessThan(1_000);
  });
});

/** zlib's crc32, as Python's zlib.crc32 computes it. */
function crc32(data: Buffer, previous: number): number {
  return Bun.hash.crc32(data, previous);
}
