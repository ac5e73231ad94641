// A worker thread's JavaScript garbage. Every call through koffi leaves a small cell behind (an N-API
// handle scope), a few per request, and a worker never returns to its event loop, where Bun runs most
// of its collections: so each worker's heap grew by tens of MiB before one ran (hello at 40k req/s: the
// process went from 76 to 445 MiB in 30 s with 8 threads, and past 610 MiB in 15 s with 16). An eden
// collection every CROSSINGS calls keeps it small, at ~0.3 ms each (~0.1 µs a request).
// On Node (the library), V8 collects on its own and this does nothing.
const edenGC: (() => unknown) | null = typeof Bun === "undefined" ? null : (require("bun:jsc") as typeof import("bun:jsc")).edenGC;

const CROSSINGS = 4096;
let crossings = 0;

/** A request, or a call from Python into JavaScript (exchange, publish): counted. */
export function noteCrossing(): void {
  crossings++;
}

/** Collects if enough calls went by since the last time. Without the GIL: a collection holds no one else up. */
export function collectIfDue(): void {
  if (crossings < CROSSINGS) return;
  crossings = 0;
  edenGC?.();
}
