// Puts the layers together: logs, Python, the worker pool and the HTTP listener.
import { openSync } from "node:fs";
import type { ServerConfig } from "./config.ts";
import { startEngine } from "./engine.ts";
import { findPython } from "./ffi/find-python.ts";
import { startPython } from "./ffi/runtime.ts";
import { applicationGroupName } from "./http/aliases.ts";
import { type App, createApp } from "./http/app.ts";
import { importScripts } from "./http/import-scripts.ts";
import { TrustedProxies } from "./http/trusted-proxies.ts";
import { wireLimits } from "./http/wire/limits.ts";
import { WireServer } from "./http/wire/wire-server.ts";
import { AccessLog } from "./log/access-log.ts";
import { ErrorLog } from "./log/error-log.ts";
import { levelNumber } from "./log/levels.ts";
import type { Pool } from "./pool/pool.ts";
import type { RecycleReason } from "./process/supervisor.ts";
import { dropPrivileges } from "./process/privileges.ts";
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
  /** Stop accepting, let requests in flight finish (up to timeoutMs), then stop. */
  drain(timeoutMs: number): Promise<void>;
}

export function openLogs(config: ServerConfig): { errorLog: ErrorLog; accessLog: AccessLog | null } {
  const errorFd = config.errorLog ? openSync(config.errorLog, "a") : 2;
  const errorLog = new ErrorLog(errorFd, levelNumber(config.logLevel));
  const accessFd = config.accessLog === undefined ? null : config.accessLog === "-" ? 1 : openSync(config.accessLog, "a");
  return { errorLog, accessLog: accessFd === null ? null : new AccessLog(accessFd) };
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
  // Bound first (a port below 1024 needs root), then --user/--group, then Python: no app code runs as root.
  // Nothing is served before the app exists below: all of this runs before the event loop turns.
  // The port is part of %{RESOURCE} names, so the app is made once the listener knows its port.
  let app: App | null = null;
  const wire = new WireServer({
    host: config.host,
    port: config.port,
    reusePort: options.reusePort ?? false,
    limits: wireLimits(config),
    limitRequestBody: config.limitRequestBody,
    serverSoftware: SERVER_SOFTWARE,
    errorLog,
    dispatch: (connection, head, body) => app!.dispatch(connection, head, body),
    logAccess: (connection, head, line, status, bytes) => app?.logAccess(connection, head, line, status, bytes),
  });
  const port = wire.port;
  dropPrivileges(config, errorLog, port);

  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  errorLog.notice(`Initializing Python ${install.version} (${install.library}).`);
  const python = startPython(install);
  const engine = startEngine(config, python, errorLog, options.onUnhealthy);
  const { pool } = engine;

  const routes = config.aliases.map((alias) => ({ alias, group: applicationGroupName(alias, config.serverName, port) }));
  const status = createServerStatus(config.serverStatus, {
    routes: routes.map(({ alias, group }) => ({ alias: alias.url, script: alias.script, group })),
    pool, slot: options.supervisedSlot ?? null, supervised: options.supervisedSlot !== undefined,
    software: SERVER_SOFTWARE, python: python.version, errorLog, activeRequests: () => wire.active,
  });
  app = createApp({
    routes, pool, errorLog, accessLog, port,
    scheme: "http",
    serverSoftware: SERVER_SOFTWARE,
    reload: config.reload,
    serverName: config.serverName,
    limitRequestBody: config.limitRequestBody,
    queueTimeoutMs: config.queueTimeout * 1000,
    trustedProxies: config.trustedProxies.length ? new TrustedProxies(config.trustedProxies) : null,
    onRequest,
    status,
  });
  for (const route of routes) {
    errorLog.info(`Alias ${route.alias.url} -> ${route.alias.script} (application group '${route.group}', callable '${route.alias.callableObject}').`);
  }
  errorLog.notice(`${SERVER_SOFTWARE} (Python ${python.version}) listening on http://${config.host}:${port}/ with ${config.threads} threads.`);
  if (config.serverStatus) errorLog.info(`Server status at ${config.serverStatus.path} (and ${config.serverStatus.path}/metrics) for ${config.serverStatus.allow.join(" ")}.`);

  const stop = () => {
    wire.stop();
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
      wire.stopAccepting(); // no new connections; those open finish what they are doing
      const deadline = Date.now() + timeoutMs;
      while ((wire.active > 0 || pool.busy > 0 || pool.queued > 0) && Date.now() < deadline) await Bun.sleep(20);
      if (pool.busy > 0) errorLog.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
      stop();
    },
  };
}
