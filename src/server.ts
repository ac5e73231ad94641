// Puts the layers together: logs, Python, the worker pool and the HTTP listeners (one per Listen).
import { openSync } from "node:fs";
import type { ServerConfig } from "./config.ts";
import type { PlannedListener } from "./config/serve-plan.ts";
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
import { Pool } from "./pool/pool.ts";
import { startWatchdog } from "./pool/watchdog.ts";
import { watchdogUrl, workerUrl } from "./pool/worker-url.ts";
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
  /** Share the port with other processes (SO_REUSEPORT): every process a supervisor runs does. */
  reusePort?: boolean;
}

export function startServer(config: ServerConfig, options: StartOptions = {}): Running {
  const { errorLog, accessLog } = openLogs(config);
  const { onRequest } = options;
  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  errorLog.notice(`Initializing Python ${install.version} (${install.library}).`);
  const python = startPython(install);

  const pool = new Pool({
    threads: config.threads,
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
    library: install.library, timeoutSeconds: config.requestTimeout, logFd: errorLog.fd, logLevel: errorLog.level, url: watchdogUrl(),
  });

  // One listener per Listen, each with its own app: the port is part of %{RESOURCE} names, so a
  // listener's hosts are compiled once it knows its port.
  const servers: WireServer[] = [];
  const listening: string[] = [];
  if (config.listeners.some((listener) => listener.hosts.some((host) => host.vhost.staticMappings.length || host.vhost.documentRoot))) loadMimeTypes();
  const trustedProxies = config.trustedProxies.length ? new TrustedProxies(config.trustedProxies) : null;
  for (const listener of config.listeners) {
    let app: App | null = null;
    const scheme = listener.tls ? "https" : "http";
    const wire = listen(listener, {
      reusePort: options.reusePort ?? false,
      limits: wireLimits(config),
      limitRequestBody: config.limitRequestBody,
      serverSoftware: SERVER_SOFTWARE,
      errorLog,
      dispatch: (connection, head, body) => app!.dispatch(connection, head, body),
      logAccess: (connection, head, line, status, bytes) => app?.logAccess(connection, head, line, status, bytes),
    });
    servers.push(wire);
    // mod_ssl's HTTPS=on for every request over TLS.
    const reach = { port: wire.port, scheme, env: listener.tls ? ["HTTPS", "on"] : [] } as const;
    const hosts = listener.hosts.map((host) => new HostRuntime(host, reach));
    app = createApp({
      hosts: new HostTable(hosts), pool, errorLog, accessLog, scheme,
      serverSoftware: SERVER_SOFTWARE,
      limitRequestBody: config.limitRequestBody,
      queueTimeoutMs: config.queueTimeout * 1000,
      trustedProxies,
      onRequest,
    });
    for (const host of listener.hosts) {
      for (const route of host.routes) {
        errorLog.info(`${scheme}://${host.serverName}:${wire.port}: WSGIScriptAlias${route.route.match === "regex" ? "Match" : ""} ${route.route.url} -> ${route.route.target} (application group '${route.applicationGroup}', callable '${route.callableObject}').`);
      }
    }
    listening.push(`${scheme}://${listener.host}:${wire.port}/`);
  }
  const port = servers[0]!.port;
  errorLog.notice(`${SERVER_SOFTWARE} (Python ${python.version}) listening on ${listening.join(", ")} with ${config.threads} threads.`);

  const stop = () => {
    for (const wire of servers) wire.stop();
    watchdog?.terminate();
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
      for (const wire of servers) wire.stopAccepting(); // no new connections; those open finish what they are doing
      const deadline = Date.now() + timeoutMs;
      const active = () => servers.reduce((n, wire) => n + wire.active, 0);
      while ((active() > 0 || pool.busy > 0 || pool.queued > 0) && Date.now() < deadline) await Bun.sleep(20);
      if (pool.busy > 0) errorLog.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
      stop();
    },
  };
}
