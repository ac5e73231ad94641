// The server's configuration, as the command line (and later an Apache config file) describes it.
export interface AliasConfig {
  /** URL prefix, as WSGIScriptAlias's first argument ("/" or "/hello", no trailing slash). */
  url: string;
  /** Absolute path of the WSGI script. */
  script: string;
  /** Application group: %{RESOURCE}, %{SERVER}, %{GLOBAL} or a literal name. */
  applicationGroup: string;
  callableObject: string;
  passAuthorization: boolean;
  /**
   * Interpreters the application group runs in (Python 3.12+): above 1, that many sub-interpreters
   * each with its own GIL, requests spread over them (see pool/parallel.ts). 1 is one interpreter
   * sharing the main GIL, as mod_wsgi.
   */
  parallelInterpreters: number;
}

/** WSGIImportScript: a script loaded into an interpreter when a process starts. */
/** A configuration that cannot run with the Python found (exit status 2, as a usage error). */
export class ConfigError extends Error {}

export interface ImportScript {
  script: string;
  /** %{GLOBAL}, %{SERVER} or a literal group name (%{RESOURCE} names no alias here). */
  applicationGroup: string;
}

export interface ServerConfig {
  aliases: AliasConfig[];
  host: string;
  port: number;
  threads: number;
  python?: string;
  pythonHome?: string;
  pythonPath: string[];
  reload: boolean;
  serverName: string;
  errorLog?: string;
  logLevel: string;
  accessLog?: string;
  /** LimitRequestBody: the most request body bytes an app may be sent; 0 is no limit. */
  limitRequestBody: number;
  /** Processes serving the port; above 1 a supervising parent runs them (see process/supervisor.ts). */
  processes: number;
  /** Seconds a stopping process waits for requests in flight before it closes what is left. */
  gracefulTimeout: number;
  /** Seconds an app may run for one request before RequestTimeout is raised in it (0: no limit). */
  requestTimeout: number;
  /** Replace a process after this many requests (0: never); needs the supervisor. */
  maximumRequests: number;
  /** Replace a process after this many seconds (0: never); needs the supervisor. */
  restartInterval: number;
  /** Seconds a request may wait for a free thread before it is answered 503 (0: no limit). */
  queueTimeout: number;
  importScripts: ImportScript[];
}

export const DEFAULTS = {
  host: "0.0.0.0",
  port: 8000,
  threads: 8,
  applicationGroup: "%{RESOURCE}",
  callableObject: "application",
  parallelInterpreters: 1,
  logLevel: "notice",
  limitRequestBody: 1 << 30, // Apache 2.4.54+'s default
  processes: 1,
  gracefulTimeout: 30, // gunicorn's graceful_timeout
  requestTimeout: 0, // mod_wsgi's request-timeout: off unless asked for
  maximumRequests: 0,
  restartInterval: 0,
  queueTimeout: 0,
} as const;
