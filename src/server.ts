// Puts the layers together: logs, Python, the worker pool and the HTTP listener.
import { openSync } from "node:fs";
import type { ServerConfig } from "./config.ts";
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
import { Pool } from "./pool/pool.ts";
import { startWatchdog } from "./pool/watchdog.ts";
import { watchdogUrl, workerUrl } from "./pool/worker-url.ts";
import { startHealthChecks } from "./process/health.ts";
import type { RecycleReason } from "./process/supervisor.ts";
import { dropPrivileges } from "./process/privileges.ts";
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

  const pool = new Pool({
    threads: config.threads,
    queueLimit: config.queueLimit,
    workerUrl: workerUrl(),
    init: {
      library: install.library,
      registry: python.registry,
      logFd: errorLog.fd,
      logLevel: errorLog.level,
      adapterConfig: JSON.stringify({
        log_fd: errorLog.fd,
        log_level: errorLog.level,
        threads: config.threads,
        processes: config.processes,
        server_software: SERVER_SOFTWARE,
        executable: install.executable,
        venv: install.venv,
        python_path: config.pythonPath,
        unset_pythonhome: python.setHome,
        request_timeout: config.requestTimeout,
        process_group: config.processGroup ?? "",
      }),
    },
  });
  const watchdog = startWatchdog(pool.slots, {
    library: install.library, timeoutSeconds: config.requestTimeout, deadlockTimeoutSeconds: config.deadlockTimeout,
    logFd: errorLog.fd, logLevel: errorLog.level, url: watchdogUrl(),
  });
  const health = startHealthChecks(pool.slots, {
    requestTimeout: config.requestTimeout, deadlockTimeout: config.deadlockTimeout, heartbeat: watchdog?.heartbeat ?? null,
    log: errorLog, onUnhealthy: options.onUnhealthy,
  });

  const routes = config.aliases.map((alias) => ({ alias, group: applicationGroupName(alias, config.serverName, port) }));
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
  });
  for (const route of routes) {
    errorLog.info(`Alias ${route.alias.url} -> ${route.alias.script} (application group '${route.group}', callable '${route.alias.callableObject}').`);
  }
  errorLog.notice(`${SERVER_SOFTWARE} (Python ${python.version}) listening on http://${config.host}:${port}/ with ${config.threads} threads.`);

  const stop = () => {
    wire.stop();
    health?.stop();
    watchdog?.thread.terminate();
    pool.terminate();
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
