// Puts the layers together: logs, Python, the worker pool and the HTTP listeners (one per Listen).
import { availableParallelism } from "node:os";
import { DEFAULTS, type DaemonGroupConfig, type ServerConfig } from "./config.ts";
import type { PlannedHost, PlannedListener } from "./config/serve-plan.ts";
import { frontNeedsPython } from "./daemon/daemon-config.ts";
import type { DaemonGroups } from "./daemon/daemon-groups.ts";
import { enterDaemonGroup } from "./daemon/daemon-process.ts";
import { fromFront, type FrontPeer } from "./daemon/front-peer.ts";
import { SCRIPT_CHANGED_STATUS } from "./daemon/protocol.ts";
import { DaemonProxy } from "./daemon/proxy.ts";
import { awaitRequests, startEngine, startWorkerThreads, type Engine } from "./engine.ts";
import { findPython } from "./ffi/find-python.ts";
import { startPython } from "./ffi/runtime.ts";
import { applicationGroupName } from "./http/aliases.ts";
import { type App, createApp, type SinkFactory } from "./http/app.ts";
import { runExitFunctions } from "./http/exit-functions.ts";
import { importScripts } from "./http/import-scripts.ts";
import { HostRuntime } from "./http/site/host-runtime.ts";
import { HostTable } from "./http/site/host-table.ts";
import { loadMimeTypes } from "./http/site/mime-types.ts";
import { sniSelector } from "./http/site/sni.ts";
import { TlsError, tlsOptions } from "./http/site/tls.ts";
import { wireLimits } from "./http/wire/limits.ts";
import { WireResponse } from "./http/wire/response-writer.ts";
import { WireServer, type WireServerOptions } from "./http/wire/wire-server.ts";
import { AccessLog } from "./log/access-log.ts";
import { hostAccessLogs } from "./log/host-access-logs.ts";
import { ErrorLog } from "./log/error-log.ts";
import { hostErrorLogs } from "./log/host-error-logs.ts";
import { levelNumber } from "./log/levels.ts";
import { type LogFile, openLogFile, reopenLogs } from "./log/log-files.ts";
import { checkParallelSupport } from "./pool/parallel.ts";
import { dropPrivileges } from "./process/privileges.ts";
import type { RecycleReason } from "./process/supervisor.ts";
import { routeTable } from "./status/route-table.ts";
import { createServerStatus } from "./status/server-status.ts";
import { SERVER_SOFTWARE } from "./version.ts";

export interface Running {
  errorLog: ErrorLog;
  /** Settles once the --import-script scripts are loaded (or failed, logged). */
  ready: Promise<void>;
  /** SIGUSR1: reopen the log files at their paths. */
  reopenLogs(): void;
  /** Stop accepting, let requests in flight finish (up to timeoutMs), then close the connections; the caller exits. */
  drain(timeoutMs: number): Promise<void>;
}

export function openLogs(config: ServerConfig): { errorLog: ErrorLog; accessLog: AccessLog | null; files: LogFile[] } {
  const files: LogFile[] = [];
  const errorLog = openErrorLog(config, files);
  const accessFd = config.accessLog === undefined ? null : config.accessLog === "-" ? 1 : openLogFile(config.accessLog, files);
  return { errorLog, accessLog: accessFd === null ? null : new AccessLog(accessFd), files };
}

/** The error log: its file (appended to, and noted in `files` to be reopened), else stderr. */
export function openErrorLog(config: Pick<ServerConfig, "errorLog" | "logLevel">, files: LogFile[] = []): ErrorLog {
  return new ErrorLog(config.errorLog ? openLogFile(config.errorLog, files) : 2, levelNumber(config.logLevel));
}

/** A listener's WireServer; a certificate Bun refuses (a key that is not its own, bad PEM) is said so. */
function listen(listener: PlannedListener, options: Omit<WireServerOptions, "host" | "port" | "tls">): WireServer {
  const where = `${listener.host}:${listener.port}`;
  const tls = listener.tls ? tlsOptions(listener.tls, where) : undefined;
  const sni = listener.tls ? sniSelector(listener.hosts, where) : undefined;
  try {
    return new WireServer({ ...options, host: listener.host, port: listener.port, tls, sni });
  } catch (error) {
    if (!listener.tls || (error as { code?: string }).code === "EADDRINUSE") throw error;
    throw new TlsError(`TLS on ${where}: certificate ${listener.tls.certificateFile} with key ${listener.tls.keyFile}: ${(error as Error).message}`);
  }
}

export interface StartOptions {
  /** Runs for every request the server takes (process/recycler.ts counts them). */
  onRequest?: () => void;
  /** Asks for this process to be replaced when its health check fails (process/health.ts). */
  onUnhealthy?: (reason: RecycleReason) => void;
  /** Share the port with other processes (SO_REUSEPORT): every process a supervisor runs does. */
  reusePort?: boolean;
  /** Run by a supervisor (its slot number): the status page gathers every process's figures through it. */
  supervisedSlot?: number;
  /** A front process: where the daemon process groups' requests go (src/daemon/). */
  daemons?: DaemonGroups;
  /** A daemon process: its group, its private socket, and whom to tell when a script changed. */
  daemon?: { group: DaemonGroupConfig; socket: string; onScriptChanged(): void };
}

export function startServer(config: ServerConfig, options: StartOptions = {}): Running {
  const { errorLog, accessLog, files } = openLogs(config);
  // Each virtual host's CustomLog, one AccessLog per file (the main server's, --access-log, among them).
  const accessLogs = new Map<string, AccessLog>();
  if (accessLog && config.accessLog !== undefined) accessLogs.set(config.accessLog, accessLog);
  const accessLogsFor = hostAccessLogs((target) => {
    let log = accessLogs.get(target);
    if (!log) accessLogs.set(target, (log = new AccessLog(target === "-" ? 1 : openLogFile(target, files))));
    return log;
  });
  // Each virtual host's ErrorLog (request lines, its apps' output); the main server's takes the rest.
  const errorLogFor = hostErrorLogs(errorLog, config.errorLog, files);
  const hostLog = (host: PlannedHost) => errorLogFor(host.vhost.errorLog, host.vhost.logLevel ?? DEFAULTS.logLevel);
  // Opened now, as root when started so (as Apache opens its logs): --user may not enter their directories.
  for (const listener of config.listeners) for (const host of listener.hosts) hostLog(host);
  const { onRequest, daemon } = options;
  const wireOptions = {
    reusePort: options.reusePort ?? false,
    limits: wireLimits(config),
    serverSoftware: config.serverSoftware ?? SERVER_SOFTWARE,
    errorLog,
  };

  // Bound first (a port below 1024 needs root), then --user/--group, then Python: no app code runs as
  // root. One listener per Listen, each with its own app, made below once Python runs: nothing is
  // served before that, as all of this runs before the event loop turns. A daemon process listens on
  // its private socket only, and routes what the fronts relay with the app of the listener it came in on.
  const apps: (App | null)[] = config.listeners.map(() => null);
  const servers = daemon ? [listenDaemon(daemon, apps, wireOptions)] : config.listeners.map((listener, index) => listen(listener, {
    ...wireOptions,
    // What a connection logs before its Host is known goes to its address's default host, as Apache's c->base_server.
    errorLog: hostLog(listener.hosts[0]!),
    dispatch: (connection, head, body) => apps[index]!.dispatch(connection, head, body),
    logAccess: (connection, head, line, status, bytes, response, keepAlive) => apps[index]?.logAccess(connection, head, line, status, bytes, response, keepAlive),
  }));
  // A daemon's SERVER_PORT and %{RESOURCE} names are the fronts': the ports the supervisor gave every process.
  const ports = config.listeners.map((listener, index) => (daemon ? listener.port : servers[index]!.port));
  const port = ports[0]!;
  const runsPython = Boolean(daemon) || frontNeedsPython(config);
  const identity = dropPrivileges(config, errorLog, daemon ? `unix:${daemon.socket}` : `port ${port}`, runsPython);
  if (daemon) enterDaemonGroup(daemon.group, identity, errorLog);

  // The hosts name their routes' groups with the ports; the engine's workers need the parallel ones.
  const hostsByListener = config.listeners.map((listener, index) => {
    // Over TLS the scheme says https (wsgi.url_scheme): mod_ssl's HTTPS=on would only say it again, and
    // mod_wsgi passes no HTTPS variable on.
    const reach = { port: ports[index]!, scheme: listener.tls ? "https" : "http", host: listener.host, relayed: Boolean(daemon) } as const;
    return listener.hosts.map((host) => {
      const runtime = new HostRuntime(host, reach, hostLog(host), errorLog);
      // A daemon process logs no access: the front that relayed the request does (once, as Apache).
      const logs = accessLogsFor(daemon ? [] : host.accessLogs);
      runtime.accessLog = logs.combined;
      runtime.formattedLogs = logs.formatted;
      return runtime;
    });
  });
  let engine: Engine | null = null;
  let pythonVersion = "";
  if (runsPython) {
    const install = findPython({ python: config.python, pythonHome: config.pythonHome });
    checkParallelSupport(config, install.version, install.library);
    const routes = hostsByListener.flat().flatMap((host) => host.routeInterpreters());
    // After the drop (no thread ever runs as root) and once nothing before Python can fail: a thread
    // still loading koffi when the process exits aborts it. As many as there are cores beside the one
    // initialising Python; the rest follow (startEngine), once that core is free again.
    const started = startWorkerThreads(Math.min(config.threads, Math.max(availableParallelism() - 1, 1)));
    const python = startPython(install, (version) => errorLog.notice(`Initializing Python ${version} (${install.library}).`));
    engine = startEngine(config, python, errorLog, options.onUnhealthy, {
      restartOnChange: Boolean(daemon),
      routes,
      started,
    });
    pythonVersion = python.version;
  }
  const pool = engine?.pool ?? null;

  const activeRequests = () => servers.reduce((n, wire) => n + wire.active, 0);
  const table = routeTable(config.listeners.map((listener, index) => ({ hosts: listener.hosts, port: ports[index]! })));
  const status = createServerStatus(config.serverStatus, {
    routes: table.routes, pool, slot: options.supervisedSlot ?? null, supervised: options.supervisedSlot !== undefined,
    software: SERVER_SOFTWARE, python: pythonVersion || "none (every route runs in a daemon process group)", errorLog, activeRequests,
  });

  const listening: string[] = [];
  if (config.listeners.some((listener) => listener.hosts.some((host) => host.vhost.staticMappings.length || host.vhost.documentRoot))) loadMimeTypes();
  config.listeners.forEach((listener, index) => {
    const listenerPort = ports[index]!;
    const scheme = listener.tls ? "https" : "http";
    const hosts = hostsByListener[index]!;
    const daemons = options.daemons ? new DaemonProxy({ groups: options.daemons, listener: index, limits: wireOptions.limits, errorLog }) : null;
    apps[index] = createApp({
      hosts: new HostTable(hosts), pool, daemons, errorLog, accessLog, scheme,
      serverSoftware: wireOptions.serverSoftware,
      queueTimeoutMs: config.queueTimeout * 1000,
      onRequest,
      status,
      statRoutes: table.index,
    });
    for (const host of listener.hosts) {
      for (const route of host.routes) {
        const where = route.processGroup === "%{GLOBAL}" || daemon ? `application group '${route.applicationGroup}'` : `daemon process group '${route.processGroup}'`;
        errorLog.info(`${scheme}://${host.serverName}:${listenerPort}: WSGIScriptAlias${route.route.match === "regex" ? "Match" : ""} ${route.route.url} -> ${route.route.target} (${where}, callable '${route.callableObject}').`);
      }
    }
    listening.push(`${scheme}://${listener.host}:${listenerPort}/`);
  });
  if (daemon) {
    errorLog.notice(`Daemon process ${process.pid} of group '${daemon.group.name}' (Python ${pythonVersion}) listening on unix:${daemon.socket} with ${config.threads} threads.`);
  } else if (engine) {
    errorLog.notice(`${SERVER_SOFTWARE} (Python ${pythonVersion}) listening on ${listening.join(", ")} with ${config.threads} threads.`);
  } else {
    const anyRoute = config.listeners.some((listener) => listener.hosts.some((host) => host.routes.length > 0));
    const why = anyRoute ? "every route runs in a daemon process group" : "no WSGI route";
    errorLog.notice(`${SERVER_SOFTWARE} listening on ${listening.join(", ")} (no Python in this process: ${why}).`);
  }
  if (config.serverStatus) errorLog.info(`Server status at ${config.serverStatus.paths.map((path) => `${path} (and ${path}/metrics)`).join(", ")}.`);

  // A daemon group's import scripts load in its processes (daemon/daemon-config.ts), not here.
  const imports = config.importScripts.filter((script) => !script.processGroup).map((script) => {
    const group = applicationGroupName(script, config.serverName, port);
    return { script, group, interpreters: engine?.parallel.get(group) ?? 1 };
  });
  return {
    errorLog,
    reopenLogs: () => reopenLogs(files, errorLog),
    ready: pool ? importScripts(pool, imports, errorLog) : Promise.resolve(),
    async drain(timeoutMs: number) {
      for (const wire of servers) wire.stopAccepting(); // no new connections; those open finish what they are doing
      // Until the connections that served a request have closed: a response's client must read it before
      // the last close, which would reset the connection and lose what it had not read yet.
      const closing = () => servers.reduce((n, wire) => n + wire.closing, 0);
      const deadline = Date.now() + timeoutMs;
      await awaitRequests(() => activeRequests() + closing(), pool, timeoutMs, errorLog, deadline);
      // Then the apps' atexit functions, in what time is left (mod_wsgi runs them as it destroys its interpreters).
      if (pool && pool.busy === 0) await runExitFunctions(pool, (group) => engine?.parallel.get(group) ?? 1, errorLog, deadline);
      // The connections close; the worker threads end with the process, which exits next. Terminating
      // a worker still loading koffi's native module aborts the whole process (seen as SIGABRT when a
      // SIGTERM came right after start-up).
      for (const wire of servers) wire.stop();
    },
  };
}

/**
 * A daemon process's private socket. Each request names the listener it reached (FRONT_HEADER) and is
 * routed by that listener's app; the response goes back over the front's connection.
 */
function listenDaemon(daemon: NonNullable<StartOptions["daemon"]>, apps: (App | null)[],
  options: Omit<WireServerOptions, "host" | "port" | "dispatch" | "logAccess">): WireServer {
  // The response goes to the front, over HTTP/1.1 whatever its client spoke: the front frames it for the client.
  const relayedSink: SinkFactory<FrontPeer> = (peer, isHead, _http10, label) =>
    new WireResponse(peer.connection, isHead, false, options.serverSoftware, options.errorLog, label);
  return new WireServer({
    ...options,
    limits: { ...options.limits, relayed: true },
    host: "",
    port: 0,
    unix: daemon.socket,
    reusePort: false,
    dispatch: (connection, head, body) => {
      const relayed = fromFront(connection, head);
      const app = relayed ? apps[relayed.listener] : undefined;
      if (!relayed || !app) {
        options.errorLog.error(`Daemon process ${process.pid}: a request without a valid front header on its socket: refused.`);
        return new WireResponse(connection, head.method === "HEAD", head.protocol === "HTTP/1.0", options.serverSoftware, options.errorLog, head.target).fail(400);
      }
      void app.dispatchTo(relayed.peer, relayed.head, body, relayedSink);
    },
    // A daemon's answer that a script changed: the front sends the request elsewhere, the group restarts.
    // The fronts log the access, once, as Apache does.
    logAccess: (_connection, _head, _line, status) => {
      if (status === SCRIPT_CHANGED_STATUS) daemon.onScriptChanged();
    },
  });
}
