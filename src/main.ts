// The wsgi-bin command: parse flags, then either serve (one process) or supervise N processes.
import { openSync } from "node:fs";
import { hostname } from "node:os";
import { HELP, parseArgs, UsageError, type Command } from "./cli/args.ts";
import { needsSupervisor, type ServerConfig } from "./config.ts";
import { ConfigError } from "./config/diagnostics.ts";
import { loadSite } from "./config/load.ts";
import { findPython, PythonNotFound } from "./ffi/find-python.ts";
import { TlsError } from "./http/site/tls.ts";
import { ErrorLog } from "./log/error-log.ts";
import { levelNumber } from "./log/levels.ts";
import { checkParallelSupport } from "./pool/parallel.ts";
import { checkPrivileges, PrivilegeError, resolveIdentity } from "./process/privileges.ts";
import { PROCESS_SLOT_ENV } from "./process/self-command.ts";
import { Recycler } from "./process/recycler.ts";
import { reservePort, Supervisor, type ChildMessage } from "./process/supervisor.ts";
import { openLogs, startServer, type Running } from "./server.ts";
import { VERSION } from "./version.ts";

function main(argv: string[]): void {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`wsgi-bin: ${error.message}\nTry 'wsgi-bin --help'.\n`);
    process.exit(2);
  }
  if (command.kind === "help") {
    process.stdout.write(HELP);
    return;
  }
  if (command.kind === "version") {
    process.stdout.write(`wsgi-bin ${VERSION}\n`);
    return;
  }
  const supervised = process.env[PROCESS_SLOT_ENV] !== undefined;
  // A supervisor's children read the same configuration: its warnings were reported once already.
  const loaded = loadSite(command.flags, hostname(), { report: !supervised });
  if (loaded.exit !== undefined) process.exit(loaded.exit);
  const config = loaded.config;
  try {
    // --user without root fails here, before anything is bound (the switch itself follows the bind).
    checkPrivileges(resolveIdentity(config.user, config.group));
    if (needsSupervisor(config) && !supervised) supervise(config, argv);
    else serve(config, supervised);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A configuration that cannot run as given (parallel interpreters on Python < 3.12, aliases of one
      // application group disagreeing on them): as a usage error, status 2.
      reportFatal(config, supervised, error.message);
      process.exit(2);
    }
    const message = error instanceof PythonNotFound || error instanceof PrivilegeError || error instanceof TlsError ||
      (error as { code?: string }).code === "EADDRINUSE"
      ? (error as Error).message
      : (error as Error).stack ?? String(error);
    reportFatal(config, supervised, message);
    process.exit(1);
  }
}

/**
 * A process that cannot start says why: on stderr to whoever ran it, and in the error log with its pid,
 * as Apache logs its own start-up failures ([emerg]). A supervised child whose error log is stderr
 * writes the log line only: that stderr is the shared error log.
 */
function reportFatal(config: ServerConfig, supervised: boolean, message: string): void {
  if (config.errorLog || !supervised) process.stderr.write(`wsgi-bin: ${message}\n`);
  if (!config.errorLog && !supervised) return;
  try {
    new ErrorLog(config.errorLog ? openSync(config.errorLog, "a") : 2, levelNumber(config.logLevel))
      .write("emerg", `wsgi-bin (pid ${process.pid}) could not start: ${message}`);
  } catch {
    // The error log itself may be what failed: stderr has the message.
  }
}

function supervise(config: ServerConfig, argv: string[]): void {
  // Fail here, once and clearly, on what would make every child fail: no Python, a port in use.
  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  checkParallelSupport(config, install.version, install.library);
  const port = reservePort(config.host, config.port);
  // The children share every port: one the kernel picks (--https-port 0) is picked here, once.
  const https = config.listeners.find((listener, i) => i > 0 && listener.tls && !listener.source);
  const extra = https?.port === 0 ? ["--https-port", String(reservePort(https.host, 0))] : [];
  new Supervisor(config, [...argv, ...extra], port, openLogs(config).errorLog).start();
}

function serve(config: ServerConfig, supervised: boolean): void {
  // Handlers first: "listening" is logged inside startServer, and a signal arriving before its handler
  // exists gets the default action (SIGHUP would kill us). Handlers run from the event loop, after
  // startServer has returned, so `running` is always set when they do.
  let running: Running;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.errorLog.notice(`Caught ${signal}, shutting down gracefully (up to ${config.gracefulTimeout} s).`);
    await running.drain(config.gracefulTimeout * 1000);
    running.errorLog.notice(`Process ${process.pid} exiting after ${signal}.`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Reloading means new processes: the supervisor's job. A lone process keeps serving.
  process.on("SIGHUP", () => {
    if (!supervised) running.errorLog.notice("Caught SIGHUP: graceful reload needs --processes; still serving.");
  });

  const recycler = supervised ? new Recycler(config.maximumRequests, config.restartInterval) : null;
  running = startServer(config, {
    onRequest: recycler ? () => recycler.count() : undefined,
    onUnhealthy: recycler ? (reason) => recycler.replace(reason) : undefined,
    reusePort: supervised,
    supervisedSlot: supervised ? Number(process.env[PROCESS_SLOT_ENV]) : undefined,
  });
  const ready: ChildMessage = { ready: true };
  // A successor reports ready once its scripts are imported: a reload swaps in warmed-up processes.
  if (supervised) void running.ready.then(() => process.send?.(ready));
}

main(process.argv.slice(2));
