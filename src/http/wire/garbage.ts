// Socket reads and framed chunks are fresh buffers, garbage a moment later. A long upload or download
// makes them faster than the collector's heuristics notice, and the process's memory climbs by tens
// of MiB before it catches up (measured: +63 MiB for 1 GiB received by a bare Bun.listen, +19 MiB
// with a collection every 16 MiB). So body bytes are counted process-wide and a full collection runs
// every GARBAGE_BYTES of them: a few milliseconds per 32 MiB moved, nothing for small requests.
const GARBAGE_BYTES = 32 << 20;
let since = 0;

export function noteGarbage(bytes: number): void {
  since += bytes;
  if (since < GARBAGE_BYTES) return;
  since = 0;
  Bun.gc(true);
}
