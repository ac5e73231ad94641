// Puts the layers together: logs, Python, the worker pool and the HTTP listeners (one per Listen).
import { openSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { ServerConfig } from "./config.ts";
import type { PlannedListener } from "./config/serve-plan.ts";
import { startEngine, startWorkerThreads } from "./engine.ts";
import { findPython } from "./ffi/find-python.ts";
import { startPython } from "./ffi/runtime.ts";
import { applicationGroupName } from "./http/aliases.ts";
import { type App, createApp } from "./http/app.ts";
import { importScripts } from "./http/import-scripts.ts";
import { HostRuntime } from "./http/site/host-runtime.ts";
import { HostTable } from "./http/site/host-table.ts";
import { loadMimeTypes } from "./http/site/mime-types.ts";
import { TlsError, tlsOptions } from "./http/site/tls.ts";
import { TrustedProxies } from "./http/trusted-proxies.ts";
import { wireLimits } from "./http/wire/limits.ts";
import { WireServer, type WireServerOptions } from "./http/wire/wire-server.ts";
import { AccessLog } from "./log/access-log.ts";
import { ErrorLog } from "./log/error-log.ts";
import { levelNumber } from "./log/levels.ts";
import type { Pool } from "./pool/pool.ts";
import { dropPrivileges } from "./process/privileges.ts";
import type { RecycleReason } from "./process/supervisor.ts";
import { routeTable } from "./status/route-table.ts";
import { createServerStatus } from "./status/server-status.ts";
import { SERVER_SOFTWARE } from "./version.ts";

export interface Running {
  port: number;
  pool: Pool;
  errorLog: ErrorLog;
  /** Settles once the --import-script scripts are loaded (or failed, logged). */
  ready: Promise<void>;
  /** Stop at once: connections closed, workers ended. */
  stop(): void;
  /** Stop accepting, let requests in flight finish (up to timeoutMs), then close the connections; the caller exits. */
  drain(timeoutMs: number): Promise<void>;
}

export function openLogs(config: ServerConfig): { errorLog: ErrorLog; accessLog: AccessLog | null } {
  const errorFd = config.errorLog ? openSync(config.errorLog, "a") : 2;
  const errorLog = new ErrorLog(errorFd, levelNumber(config.logLevel));
  const accessFd = config.accessLog === undefined ? null : config.accessLog === "-" ? 1 : openSync(config.accessLog, "a");
  return { errorLog, accessLog: accessFd === null ? null : new AccessLog(accessFd) };
}

/** A listener's WireServer; a certificate Bun refuses (a key that is not its own, bad PEM) is said so. */
function listen(listener: PlannedListener, options: Omit<WireServerOptions, "host" | "port" | "tls">): WireServer {
  const where = `${listener.host}:${listener.port}`;
  const tls = listener.tls ? tlsOptions(listener.tls, where) : undefined;
  try {
    return new WireServer({ ...options, host: listener.host, port: listener.port, tls });
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
}

export function startServer(config: ServerConfig, options: StartOptions = {}): Running {
  const { errorLog, accessLog } = openLogs(config);
  const { onRequest } = options;

  // Bound first (a port below 1024 needs root), then --user/--group, then Python: no app code runs as
  // root. One listener per Listen, each with its own app, made below once Python runs: nothing is
  // served before that, as all of this runs before the event loop turns.
  const apps: (App | null)[] = [];
  const servers = config.listeners.map((listener, index) => {
    apps.push(null);
    return listen(listener, {
      reusePort: options.reusePort ?? false,
      limits: wireLimits(config),
      limitRequestBody: config.limitRequestBody,
      serverSoftware: SERVER_SOFTWARE,
      errorLog,
      dispatch: (connection, head, body) => apps[index]!.dispatch(connection, head, body),
      logAccess: (connection, head, line, status, bytes) => apps[index]?.logAccess(connection, head, line, status, bytes),
    });
  });
  const port = servers[0]!.port;
  dropPrivileges(config, errorLog, port);

  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  // After the drop (no thread ever runs as root) and once nothing before Python can fail: a thread
  // still loading koffi when the process exits aborts it. As many as there are cores beside the one
  // initialising Python; the rest follow (startEngine), once that core is free again.
  const threads = startWorkerThreads(Math.min(config.threads, Math.max(availableParallelism() - 1, 1)));
  const python = startPython(install, (version) => errorLog.notice(`Initializing Python ${version} (${install.library}).`));
  const engine = startEngine(config, python, errorLog, options.onUnhealthy, threads);
  const { pool } = engine;

  const activeRequests = () => servers.reduce((n, wire) => n + wire.active, 0);
  const table = routeTable(config.listeners.map((listener, index) => ({ hosts: listener.hosts, port: servers[index]!.port })));
  const status = createServerStatus(config.serverStatus, {
    routes: table.routes, pool, slot: options.supervisedSlot ?? null, supervised: options.supervisedSlot !== undefined,
    software: SERVER_SOFTWARE, python: python.version, errorLog, activeRequests,
  });

  const listening: string[] = [];
  if (config.listeners.some((listener) => listener.hosts.some((host) => host.vhost.staticMappings.length || host.vhost.documentRoot))) loadMimeTypes();
  const trustedProxies = config.trustedProxies.length ? new TrustedProxies(config.trustedProxies) : null;
  config.listeners.forEach((listener, index) => {
    const wire = servers[index]!;
    const scheme = listener.tls ? "https" : "http";
    // mod_ssl's HTTPS=on for every request over TLS.
    const reach = { port: wire.port, scheme, env: listener.tls ? ["HTTPS", "on"] : [] } as const;
    const hosts = listener.hosts.map((host) => new HostRuntime(host, reach));
    apps[index] = createApp({
      hosts: new HostTable(hosts), pool, errorLog, accessLog, scheme,
      serverSoftware: SERVER_SOFTWARE,
      limitRequestBody: config.limitRequestBody,
      queueTimeoutMs: config.queueTimeout * 1000,
      trustedProxies,
      onRequest,
      status,
      statRoutes: table.index,
    });
    for (const host of listener.hosts) {
      for (const route of host.routes) {
        errorLog.info(`${scheme}://${host.serverName}:${wire.port}: WSGIScriptAlias${route.route.match === "regex" ? "Match" : ""} ${route.route.url} -> ${route.route.target} (application group '${route.applicationGroup}', callable '${route.callableObject}').`);
      }
    }
    listening.push(`${scheme}://${listener.host}:${wire.port}/`);
  });
  errorLog.notice(`${SERVER_SOFTWARE} (Python ${python.version}) listening on ${listening.join(", ")} with ${config.threads} threads.`);
  if (config.serverStatus) errorLog.info(`Server status at ${config.serverStatus.path} (and ${config.serverStatus.path}/metrics) for ${config.serverStatus.allow.join(" ")}.`);

  const stop = () => {
    for (const wire of servers) wire.stop();
    engine.stop();
  };
  const imports = config.importScripts.map((script) => ({ script, group: applicationGroupName(script, config.serverName, port) }));
  return {
    port,
    pool,
    errorLog,
    ready: importScripts(pool, imports, errorLog),
    stop,
    async drain(timeoutMs: number) {
      for (const wire of servers) wire.stopAccepting(); // no new connections; those open finish what they are doing
      const deadline = Date.now() + timeoutMs;
      while ((activeRequests() > 0 || pool.busy > 0 || pool.queued > 0) && Date.now() < deadline) await Bun.sleep(20);
      if (pool.busy > 0) errorLog.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
      // The connections close; the worker threads end with the process, which exits next. Terminating
      // a worker still loading koffi's native module aborts the whole process (seen as SIGABRT when a
      // SIGTERM came right after start-up).
      for (const wire of servers) wire.stop();
    },
  };
}
