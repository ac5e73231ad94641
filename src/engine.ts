// What runs Python for a server, whichever front feeds it requests (the wire listener of server.ts,
// or the library's fetch() in src/lib/): the worker pool, and the watchdog and health checks that
// --request-timeout and --deadlock-timeout need.
import type { ServerConfig } from "./config.ts";
import type { PythonRuntime } from "./ffi/runtime.ts";
import type { RouteInterpreters } from "./http/site/host-runtime.ts";
import type { ErrorLog } from "./log/error-log.ts";
import { adapterSources } from "./pool/adapter-sources.ts";
import { parallelGroups, parallelInit } from "./pool/parallel.ts";
import { Pool } from "./pool/pool.ts";
import { startWatchdog } from "./pool/watchdog.ts";
import { watchdogUrl, workerUrl } from "./pool/worker-url.ts";
import { settingNames, startHealthChecks } from "./process/health.ts";
import type { RecycleReason } from "./process/supervisor.ts";
import { SERVER_SOFTWARE } from "./version.ts";

export interface Engine {
  pool: Pool;
  /** --parallel-interpreters: resolved group name -> its K interpreters, for the groups with K > 1. */
  parallel: Map<string, number>;
  /** Ends the worker threads and the watchdog at once. */
  stop(): void;
}

export interface EngineOptions {
  /** A daemon process does not reload a changed script in place: its group restarts (mod_wsgi's daemon mode). */
  restartOnChange?: boolean;
  /** The routes run here, with their application groups and how many interpreters each asks for. */
  routes?: RouteInterpreters[];
  /** Worker threads started ahead (startWorkerThreads), handed to the pool. */
  started?: Worker[];
}

/**
 * The worker threads' start, which needs no Python: each loads its script and koffi, a few ms of CPU
 * apiece, then waits for its WorkerInit. Started before Python is initialised, that overlaps with
 * Py_InitializeEx instead of following it (startEngine hands them to the pool).
 */
export function startWorkerThreads(count: number): Worker[] {
  return Array.from({ length: count }, () => new Worker(workerUrl()));
}

export function startEngine(
  config: ServerConfig,
  python: PythonRuntime,
  errorLog: ErrorLog,
  onUnhealthy?: (reason: RecycleReason) => void,
  options: EngineOptions = {},
): Engine {
  const { restartOnChange = false, routes = [], started } = options;
  const install = python.install;
  // The workers share the parallel groups' replica table from their start: the groups are named by
  // now (the caller resolved them with the bound ports).
  const parallel = parallelGroups(routes, config.threads, errorLog);
  const replicas = parallelInit(parallel);
  // A daemon process's limits are its group's WSGIDaemonProcess options: its log says so.
  const daemon = Boolean(config.processGroup);
  const pool = new Pool({
    threads: config.threads,
    queueLimit: config.queueLimit,
    queueLimitName: daemon ? "listen-backlog=" : "--queue-limit",
    workerUrl: workerUrl(),
    started,
    init: {
      library: install.library,
      registry: python.registry,
      logFd: errorLog.fd,
      logLevel: errorLog.level,
      adapterConfig: {
        log_fd: errorLog.fd,
        log_level: errorLog.level,
        threads: config.threads,
        processes: config.processes, // mod_wsgi.maximum_processes
        started: performance.timeOrigin / 1000, // the process's start: mod_wsgi's restart_time
        multiprocess: config.multiprocess ?? config.processes > 1,
        restart_on_change: restartOnChange,
        server_software: config.serverSoftware ?? SERVER_SOFTWARE,
        executable: install.executable,
        venv: install.venv && { ...install.venv },
        python_path: config.pythonPath,
        unset_pythonhome: python.setHome,
        request_timeout: config.requestTimeout,
        process_group: config.processGroup ?? "",
      },
      adapterSources: adapterSources(python.magic),
      parallel: replicas,
    },
  });
  const watchdog = startWatchdog(pool.slots, {
    library: install.library, timeoutSeconds: config.requestTimeout, deadlockTimeoutSeconds: config.deadlockTimeout,
    logFd: errorLog.fd, logLevel: errorLog.level, url: watchdogUrl(), parallel: replicas,
  });
  const health = startHealthChecks(pool.slots, {
    requestTimeout: config.requestTimeout, deadlockTimeout: config.deadlockTimeout, heartbeat: watchdog?.heartbeat ?? null,
    log: errorLog, onUnhealthy, names: settingNames(daemon),
  });
  return {
    pool,
    parallel,
    stop() {
      health?.stop();
      watchdog?.thread.terminate();
      pool.terminate();
    },
  };
}

/**
 * A graceful stop's wait: until the requests on the connections (`active`) and those the pool runs or
 * queues are done, up to `timeoutMs`; the ones still running then are logged (the caller closes them).
 */
export async function awaitRequests(active: () => number, pool: Pool | null, timeoutMs: number, log: ErrorLog,
  deadline = Date.now() + timeoutMs): Promise<void> {
  const busy = () => (pool ? pool.busy + pool.queued : 0);
  while ((active() > 0 || busy() > 0) && Date.now() < deadline) await Bun.sleep(20);
  if (pool && pool.busy > 0) log.warn(`${pool.busy} requests still running after ${timeoutMs / 1000} s: closing them.`);
}
