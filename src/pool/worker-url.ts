// Where the worker entry is: beside this file when run from source, and inside the executable when
// compiled (the build passes the bundled worker as an extra entry point and defines its path).
declare const WSGI_BIN_WORKER_ENTRY: string | undefined;

export function workerUrl(): string | URL {
  if (typeof WSGI_BIN_WORKER_ENTRY === "string") return WSGI_BIN_WORKER_ENTRY;
  return new URL("./worker.ts", import.meta.url);
}
