// This process's own health, checked on the HTTP thread four times a second, from shared memory only
// (this thread never takes the GIL, so what blocks Python cannot block the checks):
//  - a request stuck past --request-timeout (pool/stuck-requests.ts);
//  - --deadlock-timeout: the watchdog's GIL heartbeat (pool/heartbeat.ts) gone stale.
// When one fails, the process logs why and asks to be replaced (process/recycler.ts), once: its
// successor takes the port while requests in flight here drain.
import type { ErrorLog } from "../log/error-log.ts";
import type { HeartbeatStamp } from "../pool/heartbeat.ts";
import { WATCHDOG_TICK_MS } from "../pool/watchdog.ts";
import type { WorkerSlot } from "../pool/pool.ts";
import { StuckRequests } from "../pool/stuck-requests.ts";
import type { RecycleReason } from "./supervisor.ts";

const TICK_MS = 250;

export interface HealthOptions {
  /** --request-timeout in seconds; 0 is off. */
  requestTimeout: number;
  /** --deadlock-timeout in seconds, with the heartbeat to watch; 0 (or no heartbeat) is off. */
  deadlockTimeout: number;
  heartbeat: HeartbeatStamp | null;
  log: ErrorLog;
  /** Asks for a successor; absent when nobody supervises this process (then it only logs). */
  onUnhealthy?: (reason: RecycleReason) => void;
  /** How the log names the two settings: the flags, or a daemon group's options (settingNames). */
  names?: SettingNames;
}

export interface SettingNames {
  requestTimeout: string;
  deadlockTimeout: string;
}

/** The front's flags; a daemon process's own WSGIDaemonProcess options. */
export function settingNames(daemon: boolean): SettingNames {
  return daemon
    ? { requestTimeout: "request-timeout=", deadlockTimeout: "deadlock-timeout=" }
    : { requestTimeout: "--request-timeout", deadlockTimeout: "--deadlock-timeout" };
}

/** Starts the checks; null when none is on. */
export function startHealthChecks(slots: readonly WorkerSlot[], options: HealthOptions): { stop(): void } | null {
  const stuck = options.requestTimeout > 0 ? new StuckRequests(slots, options.requestTimeout * 1000) : null;
  const heartbeat = options.deadlockTimeout > 0 ? options.heartbeat : null;
  if (!stuck && !heartbeat) return null;
  const names = options.names ?? settingNames(false);
  const replacing = options.onUnhealthy ? `replacing process ${process.pid}.` : "nobody supervises this process to replace it.";
  const fail = (reason: RecycleReason, message: string) => {
    clearInterval(timer);
    options.log.error(`${message}; ${replacing}`);
    options.onUnhealthy?.(reason);
  };
  // The heartbeat tries every watchdog tick: a stamp older than the timeout plus one tick means the
  // GIL was out of reach for the whole timeout.
  const deadlockMs = options.deadlockTimeout * 1000 + WATCHDOG_TICK_MS;
  const timer = setInterval(() => {
    const now = Date.now();
    const ageMs = heartbeat?.ageMs(now) ?? 0;
    if (heartbeat && ageMs > deadlockMs) {
      return fail("deadlock-timeout", `Python GIL deadlock detected: the GIL has been out of reach for over ${options.deadlockTimeout} s ` +
        `(${names.deadlockTimeout}; last taken ${(ageMs / 1000).toFixed(1)} s ago): a C call holds it and does not return`);
    }
    const request = stuck?.find(now);
    if (request) {
      fail("request-timeout", `Request time limit exceeded: worker thread ${request.thread} has run one request for ` +
        `${(request.runningMs / 1000).toFixed(1)} s, past ${names.requestTimeout}${names.requestTimeout.endsWith("=") ? "" : " "}${options.requestTimeout} s and as long again ` +
        "(stuck in C code, or the app caught RequestTimeout)");
    }
  }, TICK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
