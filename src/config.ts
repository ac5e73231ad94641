// What one server process runs: src/config/serve-plan.ts derives it from the site model (built from
// the command line or an Apache configuration file).
import type { PlannedListener } from "./config/serve-plan.ts";
import type { ConnectionLimits } from "./http/wire/limits.ts";

/** WSGIImportScript: a script loaded into an interpreter when a process starts. */
export interface ImportScript {
  script: string;
  /** %{GLOBAL}, %{SERVER}, a literal group name, or %{RESOURCE} with the alias it belongs to. */
  applicationGroup: string;
  /** The alias whose %{RESOURCE} group it is (a WSGIScriptAlias naming both its groups preloads). */
  url?: string;
  /** The WSGIDaemonProcess group whose processes load it; "" or absent: embedded. */
  processGroup?: string;
}

/**
 * A WSGIDaemonProcess group: its own processes (started by the supervisor, each with its own Python),
 * reached by the front processes over private unix sockets (see src/daemon/).
 */
export interface DaemonGroupConfig {
  name: string;
  processes: number;
  /** processes= was given: wsgi.multiprocess is then true even for one process, as in mod_wsgi. */
  multiprocess: boolean;
  threads: number;
  python?: string;
  pythonHome?: string;
  pythonPath: string[];
  /** home=: the working directory of its processes. */
  home?: string;
  /** The ErrorLog and LogLevel of the host it is defined in (else the main server's): its processes' own lines. */
  errorLog?: string;
  logLevel: string;
  /** display-name=: what `ps` shows for its processes. */
  displayName?: string;
  /** user=, group=: names or #ids its processes switch to when the server starts as root. */
  user?: string;
  group?: string;
  gracefulTimeout: number;
  requestTimeout: number;
  maximumRequests: number;
  restartInterval: number;
  queueTimeout: number;
  /** connect-timeout=: seconds a front process waits for one of the group's processes to take a request. */
  connectTimeout: number;
  /** deadlock-timeout=: seconds a process's GIL may stay out of reach before it is replaced (0: not watched). */
  deadlockTimeout: number;
  /** listen-backlog=: requests that may wait for a free thread in each process; more get 503 at once. */
  queueLimit: number;
}

/** Apache's connection limits and timeouts come from ConnectionLimits (http/wire/limits.ts). */
export interface ServerConfig extends ConnectionLimits {
  /** The Server header and SERVER_SOFTWARE, as ServerTokens words them; unset: wsgi-bin/VERSION. */
  serverSoftware?: string;
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
  /** Seconds the GIL may stay out of reach before the process is replaced (0: not watched); needs the supervisor. */
  deadlockTimeout: number;
  /** Replace a process after this many requests (0: never); needs the supervisor. */
  maximumRequests: number;
  /** Replace a process after this many seconds (0: never); needs the supervisor. */
  restartInterval: number;
  /** Seconds a request may wait for a free thread before it is answered 503 (0: no limit). */
  queueTimeout: number;
  /** Requests that may wait for a free thread, per process; more are answered 503 at once. */
  queueLimit: number;
  importScripts: ImportScript[];
  /** User / Group (--user, --group): who a process started as root becomes once its port is bound. */
  user?: string;
  group?: string;
  /** The WSGIDaemonProcess group this process runs ("" or absent: embedded), for mod_wsgi.process_group. */
  processGroup?: string;
  /** --server-status, SetHandler server-status: where status pages are; absent: off. */
  serverStatus?: ServerStatusConfig;
  /** wsgi.multiprocess when it is not simply processes > 1 (a daemon group given processes=1). */
  multiprocess?: boolean;
  /** The WSGIDaemonProcess groups: the routes whose processGroup names one are served by its processes. */
  daemons: DaemonGroupConfig[];
}

/** mod_status's handler (see src/status/): on when a served host has a <Location> with SetHandler server-status. */
export interface ServerStatusConfig {
  /** Where the pages are ("/server-status"; PATH/metrics beside it), every host's; who may see them is the Require that applies. */
  paths: string[];
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
  // mod_wsgi's daemon processes watch the GIL (300 s); its embedded mode, which this is, does not. On,
  // it needs the supervisor (a process more) and a GIL heartbeat: asked for, not imposed.
  deadlockTimeout: 0,
  maximumRequests: 0,
  restartInterval: 0,
  queueTimeout: 0,
  // Apache's ListenBacklog: as many clients may wait for a thread as wait for an Apache worker.
  queueLimit: 511,
  // --server-status without a path: mod_status's customary location.
  serverStatusPath: "/server-status",
  // --server-status without --server-status-allow: the machine itself.
  statusAllow: ["127.0.0.0/8", "::1"],
  // mod_wsgi's WSGIDaemonProcess defaults.
  daemonThreads: 15,
  connectTimeout: 15,
  // deadlock-timeout=: mod_wsgi's daemons watch the GIL (300 s). Here the watch is a thread per daemon
  // process taking the GIL four times a second under load; measured on hello.wsgi it could not be shown
  // to cost nothing (bench/daemon-deadlock-cost.ts: 9 of 12 paired runs spent more CPU per request with
  // it, +4% on average, within the runs' spread), so, as for the front's --deadlock-timeout, it is
  // asked for, not imposed.
  daemonDeadlockTimeout: 0,
  // listen-backlog=: the depth of mod_wsgi's daemon socket queue, here the requests waiting for a thread.
  daemonListenBacklog: 100,
} as const;

/**
 * Does this configuration need a supervising parent? Replacing a process needs someone to start its
 * successor: recycling implies the supervisor, and so do the health checks that end in a replacement
 * (a request stuck where RequestTimeout cannot reach, a GIL deadlock); so do daemon process groups
 * (processes of their own).
 */
export function needsSupervisor(config: Pick<ServerConfig, "processes" | "maximumRequests" | "restartInterval" | "requestTimeout" | "deadlockTimeout" | "daemons">): boolean {
  return config.processes > 1 || config.maximumRequests > 0 || config.restartInterval > 0 || config.requestTimeout > 0 ||
    config.deadlockTimeout > 0 || config.daemons.length > 0;
}
