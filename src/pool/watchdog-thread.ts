// The --request-timeout watchdog: a thread of its own, so the HTTP thread never takes the GIL and
// never blocks. Every tick it reads what each worker publishes in its channel (pool/busy.ts) and
// interrupts each request that has run past the timeout, once.
import { libpython } from "../ffi/libpython.ts";
import { ErrorLog } from "../log/error-log.ts";
import { BusyState } from "./busy.ts";
import { Interrupter } from "./interrupter.ts";
import type { WatchdogInit } from "./watchdog.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<WatchdogInit>) => {
  self.onmessage = null;
  watch(event.data);
};

function watch(init: WatchdogInit): void {
  const log = new ErrorLog(init.logFd, init.logLevel);
  const interrupter = new Interrupter(libpython(init.library));
  const workers = init.channels.map((shared) => new BusyState(shared));
  const timeoutMs = init.timeoutSeconds * 1000;
  setInterval(() => {
    const now = Date.now();
    workers.forEach((busy, index) => {
      const request = busy.read();
      // An import (WSGIImportScript) is not a request: mod_wsgi's request-timeout leaves it alone.
      if (!request || request.timedOut || request.untimed || now - request.since < timeoutMs) return;
      const outcome = interrupter.interrupt(busy, request);
      if (outcome === "interrupted") log.debug(`worker ${index}: request ran over ${init.timeoutSeconds} s, RequestTimeout raised in it.`);
      else if (outcome === "failed") log.error(`worker ${index}: request ran over ${init.timeoutSeconds} s but could not be interrupted.`);
    });
  }, init.tickMs);
}
