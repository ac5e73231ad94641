// This process's own health, checked on the HTTP thread four times a second: a request stuck past
// --request-timeout (pool/stuck-requests.ts). When it fails, the process logs why and asks to be
// replaced (process/recycler.ts), once: its successor takes the port, requests in flight here drain.
import type { ErrorLog } from "../log/error-log.ts";
import type { WorkerSlot } from "../pool/pool.ts";
import { StuckRequests } from "../pool/stuck-requests.ts";
import type { RecycleReason } from "./supervisor.ts";

const TICK_MS = 250;

export interface HealthOptions {
  /** --request-timeout in seconds; 0 is off. */
  requestTimeout: number;
  log: ErrorLog;
  /** Asks for a successor; absent when nobody supervises this process (then it only logs). */
  onUnhealthy?: (reason: RecycleReason) => void;
}

/** Starts the checks; null when none is on. */
export function startHealthChecks(slots: readonly WorkerSlot[], options: HealthOptions): { stop(): void } | null {
  if (options.requestTimeout <= 0) return null;
  const stuck = new StuckRequests(slots, options.requestTimeout * 1000);
  const timer = setInterval(() => {
    const request = stuck.find(Date.now());
    if (!request) return;
    clearInterval(timer);
    options.log.error(
      `Request time limit exceeded: worker thread ${request.worker} has run one request for ${(request.runningMs / 1000).toFixed(1)} s, ` +
        `past --request-timeout ${options.requestTimeout} s and as long again (stuck in C code, or the app caught RequestTimeout); ` +
        (options.onUnhealthy ? `replacing process ${process.pid}.` : "nobody supervises this process to replace it."),
    );
    options.onUnhealthy?.("request-timeout");
  }, TICK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
