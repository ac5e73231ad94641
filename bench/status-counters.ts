// The status counters' own cost per request (status/stats.ts), without the server around them: what
// app.ts calls for one routed request with --server-status on, a million times.
//   bun bench/status-counters.ts
import { Stats } from "../src/status/stats.ts";
import type { Pool } from "../src/pool/pool.ts";

const slots = Array.from({ length: 8 }, (_, index) => ({ index, channel: { shared: new SharedArrayBuffer(1 << 10) } }));
const pool = { slots, busy: 0, queued: 0 } as unknown as Pool;
const stats = new Stats([{ alias: "/hello", script: "/x/hello.wsgi", group: "g" }], pool);
const N = 1_000_000;
for (let round = 0; round < 3; round++) {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const slot = slots[i & 7] as unknown as Pool["slots"][number];
    const started = performance.now();
    const asked = performance.now();
    const acquired = performance.now();
    stats.running(slot, 0);
    stats.workerDone(slot);
    stats.routed(0, 200, started, asked, acquired);
    stats.response(200, 12);
  }
  console.log(`${(((performance.now() - start) * 1e6) / N).toFixed(0)} ns per request (counters, 3 performance.now(), Date.now())`);
}
