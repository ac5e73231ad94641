// Where the thread entries are: beside this file when run from source, and inside the executable when
// compiled (the build passes each bundled entry as an extra entry point and defines its path).
declare const WSGI_BIN_WORKER_ENTRY: string | undefined;
declare const WSGI_BIN_WATCHDOG_ENTRY: string | undefined;

export function workerUrl(): string | URL {
  if (typeof WSGI_BIN_WORKER_ENTRY === "string") return WSGI_BIN_WORKER_ENTRY;
  return new URL("./worker.ts", import.meta.url);
}

/** The --request-timeout watchdog thread (pool/watchdog-thread.ts). */
export function watchdogUrl(): string | URL {
  if (typeof WSGI_BIN_WATCHDOG_ENTRY === "string") return WSGI_BIN_WATCHDOG_ENTRY;
  return new URL("./watchdog-thread.ts", import.meta.url);
}
