// Where the thread entries are: beside this file when run from source, inside the executable when
// compiled (the build passes each bundled entry as an extra entry point and defines its path), and
// beside the bundle in the library package (build/library.ts defines WSGI_BIN_THREADS_BESIDE).
declare const WSGI_BIN_WORKER_ENTRY: string | undefined;
declare const WSGI_BIN_WATCHDOG_ENTRY: string | undefined;
declare const WSGI_BIN_PASSWORDS_ENTRY: string | undefined;
declare const WSGI_BIN_THREADS_BESIDE: boolean | undefined;

export function workerUrl(): string | URL {
  if (typeof WSGI_BIN_WORKER_ENTRY === "string") return WSGI_BIN_WORKER_ENTRY;
  if (typeof WSGI_BIN_THREADS_BESIDE === "boolean") return new URL("./worker.js", import.meta.url);
  return new URL("./worker.ts", import.meta.url);
}

/** The --request-timeout watchdog thread (pool/watchdog-thread.ts). */
export function watchdogUrl(): string | URL {
  if (typeof WSGI_BIN_WATCHDOG_ENTRY === "string") return WSGI_BIN_WATCHDOG_ENTRY;
  if (typeof WSGI_BIN_THREADS_BESIDE === "boolean") return new URL("./watchdog.js", import.meta.url);
  return new URL("./watchdog-thread.ts", import.meta.url);
}

/**
 * The AuthUserFile password checks' thread (http/site/password-thread.ts). The library serves no
 * authentication (its options have no Require), so it ships no such entry.
 */
export function passwordThreadUrl(): string | URL {
  if (typeof WSGI_BIN_PASSWORDS_ENTRY === "string") return WSGI_BIN_PASSWORDS_ENTRY;
  return new URL("../http/site/password-thread.ts", import.meta.url);
}
