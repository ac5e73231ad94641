// The HTTP thread's side of the watchdog thread (pool/watchdog-thread.ts): started once, with every
// worker's channel, when --request-timeout or --deadlock-timeout is on; it never talks back, it only
// stamps the heartbeat (pool/heartbeat.ts). Terminated with the pool (server.ts stop()).
import { HeartbeatStamp } from "./heartbeat.ts";
import type { ParallelInit } from "./parallel.ts";
import type { WorkerSlot } from "./pool.ts";

/** How often the watchdog checks requests and beats: a request is interrupted, a stamp renewed, up to this late. */
export const WATCHDOG_TICK_MS = 250;

export interface WatchdogInit {
  library: string;
  /** Each worker's channel, read for its request in progress (pool/busy.ts). */
  channels: SharedArrayBuffer[];
  /** --request-timeout; 0 is off. */
  timeoutSeconds: number;
  /** The HeartbeatStamp's memory, when --deadlock-timeout is on. */
  heartbeat: SharedArrayBuffer | null;
  tickMs: number;
  logFd: number;
  logLevel: number;
  /** The parallel groups' replica table (pool/parallel.ts): each replica has a GIL of its own to watch. */
  parallel: ParallelInit;
}

export interface WatchdogOptions {
  library: string;
  timeoutSeconds: number;
  deadlockTimeoutSeconds: number;
  logFd: number;
  logLevel: number;
  url: string | URL;
  parallel: ParallelInit;
}

export interface Watchdog {
  thread: Worker;
  /** Stamped by the thread each tick it gets the GIL; null when --deadlock-timeout is off. */
  heartbeat: HeartbeatStamp | null;
}

/** Starts the watchdog thread; null when both timeouts are 0 (off). */
export function startWatchdog(slots: readonly WorkerSlot[], options: WatchdogOptions): Watchdog | null {
  if (options.timeoutSeconds <= 0 && options.deadlockTimeoutSeconds <= 0) return null;
  const heartbeat = options.deadlockTimeoutSeconds > 0 ? new HeartbeatStamp() : null;
  const thread = new Worker(options.url);
  const init: WatchdogInit = {
    library: options.library,
    channels: slots.map((slot) => slot.channel.shared),
    timeoutSeconds: options.timeoutSeconds,
    heartbeat: heartbeat?.shared ?? null,
    tickMs: WATCHDOG_TICK_MS,
    logFd: options.logFd,
    logLevel: options.logLevel,
    parallel: options.parallel,
  };
  thread.postMessage(init);
  return { thread, heartbeat };
}
