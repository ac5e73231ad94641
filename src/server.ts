// Puts the layers together: logs, Python, the worker pool and the HTTP listener.
import { openSync } from "node:fs";
import type { DaemonGroupConfig, ServerConfig } from "./config.ts";
import { frontNeedsPython } from "./daemon/daemon-config.ts";
import type { DaemonGroups } from "./daemon/daemon-groups.ts";
import { enterDaemonGroup } from "./daemon/daemon-process.ts";
import { fromFront } from "./daemon/front-headers.ts";
import { SCRIPT_CHANGED_STATUS } from "./daemon/protocol.ts";
import { DaemonProxy } from "./daemon/proxy.ts";
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
import { SERVER_SOFTWARE } from "./version.ts";

export interface Running {
  port: number;
  /** Null in a front process all of whose routes run in daemon process groups. */
  pool: Pool | null;
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
  /** A front process: where the daemon process groups' requests go (src/daemon/). */
  daemons?: DaemonGroups;
  /** A daemon process: its group, its private socket, and whom to tell when a script changed. */
  daemon?: { group: DaemonGroupConfig; socket: string; onScriptChanged(): void };
}

export function startServer(config: ServerConfig, options: StartOptions = {}): Running {
  const { errorLog, accessLog } = openLogs(config);
  const { onRequest, daemon } = options;
  // The port is part of %{RESOURCE} names, so the app is made once the listener knows its port.
  let app: App | null = null;
  const listen = () => new WireServer({
    host: config.host,
    port: config.port,
    unix: daemon?.socket,
    reusePort: options.reusePort ?? false,
    limits: wireLimits(config),
    limitRequestBody: config.limitRequestBody,
    serverSoftware: SERVER_SOFTWARE,
    errorLog,
    dispatch: (connection, head, body) => app!.dispatch(connection, head, body),
    logAccess: (connection, head, line, status, bytes) => {
      // A daemon's answer that a script changed: the front sends the request elsewhere, the group restarts.
      if (daemon && status === SCRIPT_CHANGED_STATUS) daemon.onScriptChanged();
      else app?.logAccess(connection, head, line, status, bytes);
    },
  });
  // A daemon process binds its socket first, then becomes its group's user and loads Python as that user.
  let wire: WireServer | null = null;
  if (daemon) {
    wire = listen();
    enterDaemonGroup(daemon.group, errorLog);
  }
  const embedded = daemon !== undefined || frontNeedsPython(config);
  const engine = embedded ? startEngine(config, errorLog, options) : null;
  const pool = engine?.pool ?? null;
  wire ??= listen();
  // A daemon's SERVER_PORT and %{RESOURCE} names are the front's: the port every process was given.
  const port = daemon ? config.port : wire.port;

  const routes = config.aliases.map((alias) => ({ alias, group: applicationGroupName(alias, config.serverName, port) }));
  const limits = wireLimits(config);
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
    daemons: options.daemons ? new DaemonProxy({ groups: options.daemons, scheme: "http", port, limits, errorLog }) : null,
    fromFront: daemon ? fromFront : undefined,
  });
  for (const route of routes) {
    const where = route.alias.processGroup ? `daemon process group '${route.alias.processGroup}'` : `application group '${route.group}'`;
    errorLog.info(`Alias ${route.alias.url} -> ${route.alias.script} (${where}, callable '${route.alias.callableObject}').`);
  }
  const python = engine ? `Python ${engine.version}` : "";
  if (daemon) {
    errorLog.notice(`Daemon process ${process.pid} of group '${daemon.group.name}' (${python}) listening on unix:${daemon.socket} with ${config.threads} threads.`);
  } else if (engine) {
    errorLog.notice(`${SERVER_SOFTWARE} (${python}) listening on http://${config.host}:${port}/ with ${config.threads} threads.`);
  } else {
    errorLog.notice(`${SERVER_SOFTWARE} listening on http://${config.host}:${port}/ (no Python in this process: every route runs in a daemon process group).`);
  }

  const stop = () => {
    wire.stop();
    options.daemons?.close();
    engine?.stop();
  };
  // A daemon group's import scripts load in its processes (src/daemon/daemon-config.ts), not here.
  const imports = config.importScripts.filter((script) => !script.processGroup)
    .map((script) => ({ script, group: applicationGroupName(script, config.serverName, port) }));
  return {
    port,
    pool,
    errorLog,
    ready: pool ? importScripts(pool, imports, errorLog) : Promise.resolve(),
    stop,
    async drain(timeoutMs: number) {
      wire.stopAccepting(); // no new connections; those open finish what they are doing
      const deadline = Date.now() + timeoutMs;
      const busy = () => (pool ? pool.busy + pool.queued : 0);
      while ((wire.active > 0 || busy() > 0) && Date.now() < deadline) await Bun.sleep(20);
      if (pool && pool.busy > 0) errorLog.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
      stop();
    },
  };
}

/** Python, the worker threads running it, and the health checks on them. */
function startEngine(config: ServerConfig, errorLog: ErrorLog, options: StartOptions) {
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
        multiprocess: config.multiprocess ?? config.processes > 1,
        // A daemon process does not reload a changed script in place: its group restarts (mod_wsgi's daemon mode).
        restart_on_change: Boolean(options.daemon),
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

  return {
    pool,
    version: python.version,
    stop() {
      health?.stop();
      watchdog?.thread.terminate();
      pool.terminate();
    },
  };
}
