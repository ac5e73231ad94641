// The wsgi-bin command: parse flags, then either serve (one process) or supervise N processes.
import { hostname } from "node:os";
import { HELP, parseArgs, UsageError, type Command } from "./cli/args.ts";
import { ConfigError, type ServerConfig } from "./config.ts";
import { findPython, PythonNotFound } from "./ffi/find-python.ts";
import { checkParallelSupport } from "./pool/parallel.ts";
import { PROCESS_SLOT_ENV } from "./process/self-command.ts";
import { Recycler } from "./process/recycler.ts";
import { reservePort, Supervisor, type ChildMessage } from "./process/supervisor.ts";
import { openLogs, startServer, type Running } from "./server.ts";
import { VERSION } from "./version.ts";

function main(argv: string[]): void {
  let command: Command;
  try {
    command = parseArgs(argv, hostname());
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
  const config = command.config;
  const supervised = process.env[PROCESS_SLOT_ENV] !== undefined;
  try {
    // Replacing a process needs someone to start its successor: recycling implies the supervisor.
    const needsSupervisor = config.processes > 1 || config.maximumRequests > 0 || config.restartInterval > 0;
    if (needsSupervisor && !supervised) supervise(config, argv);
    else serve(config, supervised);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A configuration this Python cannot run: as a usage error, status 2.
      process.stderr.write(`wsgi-bin: ${error.message}\n`);
      process.exit(2);
    }
    const message = error instanceof PythonNotFound || (error as { code?: string }).code === "EADDRINUSE"
      ? (error as Error).message
      : (error as Error).stack ?? String(error);
    process.stderr.write(`wsgi-bin: ${message}\n`);
    process.exit(1);
  }
}

function supervise(config: ServerConfig, argv: string[]): void {
  // Fail here, once and clearly, on what would make every child fail: no Python, a port in use.
  const install = findPython({ python: config.python, pythonHome: config.pythonHome });
  checkParallelSupport(config, install.version, install.library);
  const port = reservePort(config.host, config.port);
  new Supervisor(config, argv, port, openLogs(config).errorLog).start();
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
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Reloading means new processes: the supervisor's job. A lone process keeps serving.
  process.on("SIGHUP", () => {
    if (!supervised) running.errorLog.notice("Caught SIGHUP: graceful reload needs --processes; still serving.");
  });

  const recycler = supervised ? new Recycler(config.maximumRequests, config.restartInterval) : null;
  running = startServer(config, { onRequest: recycler ? () => recycler.count() : undefined, reusePort: supervised });
  const ready: ChildMessage = { ready: true };
  // A successor reports ready once its scripts are imported: a reload swaps in warmed-up processes.
  if (supervised) void running.ready.then(() => process.send?.(ready));
}

main(process.argv.slice(2));
