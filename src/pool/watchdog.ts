// The HTTP thread's side of the --request-timeout watchdog (pool/watchdog-thread.ts): started once,
// with every worker's channel; it never talks back. Terminated with the pool (server.ts stop()).
import type { WorkerSlot } from "./pool.ts";

export interface WatchdogInit {
  library: string;
  /** Each worker's channel, read for its request in progress (pool/busy.ts). */
  channels: SharedArrayBuffer[];
  timeoutSeconds: number;
  /** How often the requests are checked: a request is interrupted up to this late. */
  tickMs: number;
  logFd: number;
  logLevel: number;
}

export interface WatchdogOptions {
  library: string;
  timeoutSeconds: number;
  logFd: number;
  logLevel: number;
  url: string | URL;
}

/** Starts the watchdog thread; null when the timeout is 0 (off). */
export function startWatchdog(slots: readonly WorkerSlot[], options: WatchdogOptions): Worker | null {
  if (options.timeoutSeconds <= 0) return null;
  const thread = new Worker(options.url);
  const init: WatchdogInit = {
    library: options.library,
    channels: slots.map((slot) => slot.channel.shared),
    timeoutSeconds: options.timeoutSeconds,
    tickMs: 250,
    logFd: options.logFd,
    logLevel: options.logLevel,
  };
  thread.postMessage(init);
  return thread;
}
