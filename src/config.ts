// What one server process runs: src/config/serve-plan.ts derives it from the site model (built from
// the command line or an Apache configuration file).
import type { PlannedListener } from "./config/serve-plan.ts";

export interface AliasConfig {
  /** URL prefix, as WSGIScriptAlias's first argument ("/" or "/hello", no trailing slash). */
  url: string;
  /** Absolute path of the WSGI script. */
  script: string;
  /** Application group: %{RESOURCE}, %{SERVER}, %{GLOBAL} or a literal name. */
  applicationGroup: string;
  callableObject: string;
  passAuthorization: boolean;
}

/** WSGIImportScript: a script loaded into an interpreter when a process starts. */
export interface ImportScript {
  script: string;
  /** %{GLOBAL}, %{SERVER}, a literal group name, or %{RESOURCE} with the alias it belongs to. */
  applicationGroup: string;
  /** The alias whose %{RESOURCE} group it is (a WSGIScriptAlias naming both its groups preloads). */
  url?: string;
}

export interface ServerConfig {
  /** Every listener with the virtual hosts (and their routes) it serves: what the HTTP front takes. */
  listeners: PlannedListener[];
  /** The first listener's address (the supervisor shares its port between processes). */
  host: string;
  port: number;
  threads: number;
  python?: string;
  pythonHome?: string;
  pythonPath: string[];
  /** The default host's name (import scripts' %{SERVER}). */
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
  /** WSGITrustedProxies: addresses or CIDR blocks whose X-Forwarded-* headers are believed. */
  trustedProxies: string[];
  /** Apache's connection limits and timeouts (see http/wire/limits.ts). */
  limitRequestLine: number;
  limitRequestFields: number;
  limitRequestFieldSize: number;
  timeout: number;
  requestReadTimeout: number;
  keepAliveTimeout: number;
  maxKeepAliveRequests: number;
  maxConnections: number;
  /** The WSGIDaemonProcess group this process runs ("" or absent: embedded), for mod_wsgi.process_group. */
  processGroup?: string;
}

export const DEFAULTS = {
  host: "0.0.0.0",
  port: 8000,
  threads: 8,
  applicationGroup: "%{RESOURCE}",
  callableObject: "application",
  logLevel: "notice",
  limitRequestBody: 1 << 30, // Apache 2.4.54+'s default
  processes: 1,
  gracefulTimeout: 30, // gunicorn's graceful_timeout
  requestTimeout: 0, // mod_wsgi's request-timeout: off unless asked for
  maximumRequests: 0,
  restartInterval: 0,
  queueTimeout: 0,
} as const;
