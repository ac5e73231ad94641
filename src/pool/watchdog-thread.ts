// The watchdog: a thread of its own, so the HTTP thread never takes the GIL and never blocks. Every
// tick it beats the --deadlock-timeout heartbeat (pool/heartbeat.ts) and interrupts, once, each
// request that has run past --request-timeout, reading what each worker publishes in its channel
// (pool/busy.ts). Both take the GIL: while a C call keeps it, this thread waits with everyone else,
// and the HTTP thread's checks (process/health.ts) are what notice.
import { libpython } from "../ffi/libpython.ts";
import { ErrorLog } from "../log/error-log.ts";
import { BusyState } from "./busy.ts";
import { Channel } from "./channel.ts";
import { Heartbeat, HeartbeatStamp } from "./heartbeat.ts";
import { Interrupter } from "./interrupter.ts";
import { ParallelTable } from "./parallel.ts";
import { ThreadStates } from "./thread-states.ts";
import type { WatchdogInit } from "./watchdog.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<WatchdogInit>) => {
  self.onmessage = null;
  watch(event.data);
};

function watch(init: WatchdogInit): void {
  const log = new ErrorLog(init.logFd, init.logLevel);
  const py = libpython(init.library);
  const threadStates = new ThreadStates(py);
  const workers = init.channels.map((shared) => new BusyState(new Channel(shared)));
  const heartbeat = init.heartbeat ? new Heartbeat(py, threadStates, workers, new HeartbeatStamp(init.heartbeat), new ParallelTable(init.parallel)) : null;
  const interrupter = init.timeoutSeconds > 0 ? new Interrupter(py, threadStates) : null;
  const timeoutMs = init.timeoutSeconds * 1000;
  setInterval(() => {
    heartbeat?.beat();
    if (!interrupter) return;
    const now = Date.now();
    for (const busy of workers) {
      const request = busy.read();
      // An import (WSGIImportScript) is not a request: mod_wsgi's request-timeout leaves it alone.
      if (!request || request.timedOut || request.untimed || now - request.since < timeoutMs) continue;
      const outcome = interrupter.interrupt(busy, request);
      const thread = `worker thread ${request.threadIdent}`;
      if (outcome === "interrupted") log.debug(`${thread}: request ran over ${init.timeoutSeconds} s, RequestTimeout raised in it.`);
      else if (outcome === "failed") log.error(`${thread}: request ran over ${init.timeoutSeconds} s but could not be interrupted.`);
    }
  }, init.tickMs);
}
