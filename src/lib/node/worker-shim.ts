// The library on Node, inside a worker thread: `self.onmessage = ...` (pool/worker.ts,
// pool/watchdog-thread.ts) over worker_threads' parentPort. Injected as `self` by build/library.ts;
// on Bun it is Bun's own.
import { parentPort } from "node:worker_threads";

type Handler = ((event: { data: unknown }) => void) | null;

const nodeSelf = {
  set onmessage(handler: Handler) {
    parentPort?.removeAllListeners("message");
    if (handler) parentPort?.on("message", (data: unknown) => handler({ data }));
  },
};

export const self = ((globalThis as { self?: unknown }).self ?? nodeSelf) as unknown as Worker;
