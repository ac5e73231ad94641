// The library's public types (shipped as index.d.ts with errors.ts): what createServer() takes and
// what it gives. They mirror the command line; each option names its flag.
import type { StatusReport } from "../status/figures.ts";

export type { StatusReport };

/** One alias's script and WSGIScriptAlias options. */
export interface AliasOptions {
  /** The WSGI script (relative paths start from the current directory). */
  script: string;
  /** `application-group=`: %{RESOURCE} (default), %{SERVER}, %{GLOBAL} or a name. */
  applicationGroup?: string;
  /** `callable-object=` (default "application"). */
  callableObject?: string;
  /** `pass-authorization=on`. */
  passAuthorization?: boolean;
}

/** A list entry of `aliases`: the URL it is mounted at, with its script. */
export interface AliasEntry extends AliasOptions {
  /** URL prefix, "/" or "/name" (as WSGIScriptAlias's first argument). */
  url: string;
}

export type LogLevel = "emerg" | "alert" | "crit" | "error" | "warn" | "notice" | "info" | "debug";

/** A finished request, as the access log would have it. */
export interface RequestEntry {
  /** "socket" for requests to listen()'s address, "fetch" for server.fetch(). */
  via: "socket" | "fetch";
  remoteAddress: string;
  method: string;
  /** The request target as received ("/hello?x=1"). */
  target: string;
  status: number;
  /** Response body bytes sent. */
  bytes: number;
  referer: string | null;
  userAgent: string | null;
  time: Date;
}

export interface ServerOptions {
  /**
   * `--alias URL=FILE`: URL prefix -> script (or script and options). A record keeps its key order;
   * a list says the match order explicitly. The first declared alias covering a path wins.
   */
  aliases: Record<string, string | AliasOptions> | AliasEntry[];
  /** `--python`: the python3 (or libpython3.X.so) to embed; default $WSGI_BIN_PYTHON, else python3 on PATH. */
  python?: string;
  /** `--python-home`: a virtualenv or Python prefix. */
  pythonHome?: string;
  /** `--python-path`: directories added to every interpreter's sys.path. */
  pythonPath?: string[];
  /** `--threads`: worker threads running Python (default 8). */
  threads?: number;
  /** `--application-group`: the default for aliases (default %{RESOURCE}). */
  applicationGroup?: string;
  /** `--callable-object`: the default for aliases (default "application"). */
  callableObject?: string;
  /** `--pass-authorization`: the default for aliases. */
  passAuthorization?: boolean;
  /** `--import-script`: scripts loaded into an application group when the server starts. */
  importScripts?: { script: string; applicationGroup: string }[];
  /** `--no-reload` when false: reload scripts whose file changed (default true). */
  reload?: boolean;
  /** `--server-name`: part of %{SERVER} and %{RESOURCE} group names (default: the host name). */
  serverName?: string;
  /** `--request-timeout` seconds (0: off; default off). */
  requestTimeout?: number;
  /** `--queue-timeout` seconds (0: off). */
  queueTimeout?: number;
  /** `--queue-limit`: requests that may wait for a thread (default 511). */
  queueLimit?: number;
  /** `--limit-request-body` bytes (0: no limit; default 1 GiB). */
  limitRequestBody?: number;
  /** `--trust-proxy`: proxies whose X-Forwarded-* headers are believed. */
  trustProxy?: string[];
  /** `--timeout`, `--keep-alive-timeout` (seconds), `--max-connections`: for listen()'s connections. */
  timeout?: number;
  keepAliveTimeout?: number;
  maxConnections?: number;
  /** `--graceful-timeout`: seconds close() lets requests in flight finish (default 30). */
  gracefulTimeout?: number;
  /** `--log-level` (default "notice"). */
  logLevel?: LogLevel;
  /** `--error-log FILE`; without it and without onLog, the error log goes to stderr. */
  errorLog?: string;
  /** `--access-log FILE` ("-": stdout). */
  accessLog?: string;
  /** Every error log line (Apache's format, without its newline), the apps' print() and tracebacks included. */
  onLog?: (line: string) => void;
  /** Every finished request, from listen()'s socket or from fetch(). */
  onRequest?: (entry: RequestEntry) => void;
  /** `--server-status`: true for /server-status, or where and for whom; also enables server.status(). */
  serverStatus?: boolean | { path?: string; allow?: string[] };
  /**
   * Load every alias's script when the server starts, so a broken one fails `ready` (and listen())
   * with a ScriptLoadError rather than answering 500 later (default true). The scripts are loaded
   * as WSGIImportScript loads them, into their application groups.
   */
  preload?: boolean;
}

export interface ListenOptions {
  /** Default "127.0.0.1": a desktop app's server is for this machine. */
  host?: string;
  /** Default 0: a free port, chosen by the system. */
  port?: number;
}

export interface WsgiServer {
  /** Settles once the scripts are loaded (see `preload`): rejects with a ScriptLoadError. */
  readonly ready: Promise<void>;
  /** The embedded Python. */
  readonly python: { version: string; library: string };
  /** listen()'s URL, null until then. */
  readonly url: string | null;
  /** Listens on a socket; resolves to the URL ("http://127.0.0.1:PORT/") once the scripts are loaded. */
  listen(options?: ListenOptions): Promise<string>;
  /** Answers a web Request in this process, through no socket. */
  fetch(request: Request, info?: { remoteAddress?: string }): Promise<Response>;
  /** The status page's figures, every front's requests counted (needs `serverStatus`), else null. */
  status(): Promise<StatusReport | null>;
  /** Stops taking requests, lets those in flight finish (up to gracefulTimeout), then stops the threads. */
  close(): Promise<void>;
}
