// Puts the layers together: logs, Python, the worker pool and the HTTP listener.
import { openSync } from "node:fs";
import type { Server } from "bun";
import { ConfigError, type ServerConfig } from "./config.ts";
import { findPython } from "./ffi/find-python.ts";
import { startPython } from "./ffi/runtime.ts";
import { applicationGroupName } from "./http/aliases.ts";
import { createApp, type Route } from "./http/app.ts";
import { importScripts } from "./http/import-scripts.ts";
import { SlowRequests } from "./http/slow-requests.ts";
import { AccessLog } from "./log/access-log.ts";
import { ErrorLog } from "./log/error-log.ts";
import { levelNumber } from "./log/levels.ts";
import { checkParallelSupport, parallelInit } from "./pool/parallel.ts";
import { Pool } from "./pool/pool.ts";
import { startWatchdog } from "./pool/watchdog.ts";
import { watchdogUrl, workerUrl } from "./pool/worker-url.ts";
import { SERVER_SOFTWARE } from "./version.ts";

const IDLE_TIMEOUT = 60;

export interface Running {
  server: Server<unknown>;
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
  /** Share the port with other processes (SO_REUSEPORT): every process a supervisor runs does. */
  reusePort?: boolean;
}

export function startServer(config: ServerConfig, options: StartOptions = {}): Running {
  const { errorLog, accessLog } = openLogs(config);
  const { onRequest } = options;
  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  checkParallelSupport(config, install.version, install.library);
  errorLog.notice(`Initializing Python ${install.version} (${install.library}).`);
  const python = startPython(install);

  // The port is part of %{RESOURCE} names, so bind first when asked for any free port.
  let port = config.port;
  let server: Server<unknown> | null = null;
  const serve = (fetch: (request: Request, server: Server<unknown>) => Response | Promise<Response>) =>
    Bun.serve({
      hostname: config.host,
      port,
      fetch,
      idleTimeout: IDLE_TIMEOUT, // Apache's Timeout; requests still running an app lift it (http/slow-requests.ts)
      maxRequestBodySize: Number.MAX_SAFE_INTEGER, // limits are LimitRequestBody's job, not Bun's
      reusePort: options.reusePort ?? false,
    });
  let handler: (request: Request, server: Server<unknown>) => Response | Promise<Response> = () => new Response(null, { status: 503 });
  server = serve((request, s) => handler(request, s));
  port = server.port!;

  const routes = config.aliases.map((alias) => ({ alias, group: applicationGroupName(alias, config.serverName, port) }));
  // The workers start once the group names are known (they hold the port): the parallel groups'
  // table is made before them. No request is handled before `handler` is set below.
  const parallelGroups = parallelGroupsOf(routes, config.threads, errorLog);
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
      }),
      parallel: parallelInit(parallelGroups),
    },
  });
  const watchdog = startWatchdog(pool.slots, {
    library: install.library, timeoutSeconds: config.requestTimeout, logFd: errorLog.fd, logLevel: errorLog.level, url: watchdogUrl(),
  });

  const slowRequests = new SlowRequests(() => server, IDLE_TIMEOUT);
  const app = createApp({
    routes, pool, errorLog, accessLog, slowRequests, port,
    reload: config.reload,
    serverName: config.serverName,
    limitRequestBody: config.limitRequestBody,
    queueTimeoutMs: config.queueTimeout * 1000,
  });
  handler = onRequest
    ? (request, s) => {
        onRequest();
        return app.fetch(request, s);
      }
    : (request, s) => app.fetch(request, s);
  for (const route of routes) {
    errorLog.info(`Alias ${route.alias.url} -> ${route.alias.script} (application group '${route.group}', callable '${route.alias.callableObject}').`);
  }
  errorLog.notice(`${SERVER_SOFTWARE} (Python ${python.version}) listening on http://${config.host}:${port}/ with ${config.threads} threads.`);

  const stop = () => {
    slowRequests.stop();
    server?.stop(true);
    watchdog?.terminate();
    pool.terminate();
  };
  const imports = config.importScripts.map((script) => {
    const group = applicationGroupName(script, config.serverName, port);
    return { script, group, interpreters: parallelGroups.get(group) ?? 1 };
  });
  return {
    server,
    pool,
    errorLog,
    ready: importScripts(pool, imports, errorLog),
    stop,
    async drain(timeoutMs: number) {
      void server?.stop(false); // no new connections; those open finish what they are doing
      const deadline = Date.now() + timeoutMs;
      while ((pool.busy > 0 || pool.queued > 0) && Date.now() < deadline) await Bun.sleep(20);
      if (pool.busy > 0) errorLog.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
      stop();
    },
  };
}

/**
 * --parallel-interpreters: resolved group name -> K, for the groups with K > 1. Aliases sharing a group
 * must agree (args.ts checks the names as written; a literal name may still equal %{SERVER}'s).
 */
function parallelGroupsOf(routes: Route[], threads: number, log: ErrorLog): Map<string, number> {
  const counts = new Map<string, { count: number; url: string }>();
  for (const { alias, group } of routes) {
    const known = counts.get(group);
    if (known && known.count !== alias.parallelInterpreters) {
      throw new ConfigError(
        `aliases '${known.url}' and '${alias.url}' share application group '${group}' but ask for ` +
        `${known.count} and ${alias.parallelInterpreters} parallel interpreters: give both the same parallel-interpreters=`,
      );
    }
    if (group === "" && alias.parallelInterpreters > 1) { // application-group= (empty) names the main interpreter too
      throw new ConfigError(`alias '${alias.url}': its application group is the main interpreter, which cannot be split into parallel interpreters: give it parallel-interpreters=1`);
    }
    counts.set(group, { count: alias.parallelInterpreters, url: alias.url });
  }
  const parallel = new Map<string, number>();
  for (const [group, { count }] of counts) {
    if (count <= 1) continue;
    parallel.set(group, count);
    log.info(`Application group '${group}' runs in ${count} interpreters, each with its own GIL.`);
    if (count > threads) {
      log.warn(`Application group '${group}' has ${count} parallel interpreters but the process has ${threads} threads: at most ${threads} of them run at once (raise --threads).`);
    }
  }
  return parallel;
}
