// The wsgi-bin command: parse flags, then either serve (one process) or supervise N processes.
import { hostname } from "node:os";
import { HELP, parseArgs, UsageError, type Command } from "./cli/args.ts";
import { needsSupervisor, type DaemonGroupConfig, type ServerConfig } from "./config.ts";
import { ConfigError } from "./config/diagnostics.ts";
import { loadSite } from "./config/load.ts";
import { daemonServerConfig, frontNeedsPython } from "./daemon/daemon-config.ts";
import { DaemonGroups } from "./daemon/daemon-groups.ts";
import { DAEMON_GROUP_ENV, DAEMON_SOCKET_ENV, type DaemonList, type DaemonListAck } from "./daemon/protocol.ts";
import { findPython, PythonNotFound } from "./ffi/find-python.ts";
import { TlsError } from "./http/site/tls.ts";
import type { LogFile } from "./log/log-files.ts";
import { checkParallelSupport } from "./pool/parallel.ts";
import { checkPrivileges, PrivilegeError, resolveIdentity } from "./process/privileges.ts";
import { PROCESS_SLOT_ENV } from "./process/self-command.ts";
import { Recycler } from "./process/recycler.ts";
import { StartupError } from "./process/startup-error.ts";
import { reservePort, Supervisor, type ChildMessage } from "./process/supervisor.ts";
import { openErrorLog, startServer, type Running, type StartOptions } from "./server.ts";
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
  let config = loaded.config;
  try {
    const daemonGroup = process.env[DAEMON_GROUP_ENV];
    if (supervised && daemonGroup !== undefined) {
      const group = config.daemons.find((daemon) => daemon.name === daemonGroup);
      if (!group) throw new StartupError(`no daemon process group '${daemonGroup}' in this configuration`);
      config = daemonServerConfig(config, group);
      return serveDaemon(config, group, process.env[DAEMON_SOCKET_ENV]!);
    }
    // --user without root fails here, before anything is bound (the switch itself follows the bind).
    checkPrivileges(resolveIdentity(config.user, config.group));
    if (needsSupervisor(config) && !supervised) supervise(config, argv);
    else serveFront(config, supervised);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A configuration that cannot run as given (parallel interpreters on Python < 3.12, aliases of one
      // application group disagreeing on them): as a usage error, status 2.
      reportFatal(config, supervised, error.message);
      process.exit(2);
    }
    const message = error instanceof PythonNotFound || error instanceof PrivilegeError || error instanceof TlsError ||
      error instanceof StartupError || (error as { code?: string }).code === "EADDRINUSE"
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
    openErrorLog(config)
      .write("emerg", `wsgi-bin (pid ${process.pid}) could not start: ${message}`);
  } catch {
    // The error log itself may be what failed: stderr has the message.
  }
}

function supervise(config: ServerConfig, argv: string[]): void {
  // Fail here, once and clearly, on what would make every child fail: no Python, a port in use, an
  // unknown user.
  if (frontNeedsPython(config)) {
    const install = findPython({ python: config.python, pythonHome: config.pythonHome });
    checkParallelSupport(config, install.version, install.library);
  }
  for (const group of config.daemons) {
    try {
      const install = findPython({ python: group.python, pythonHome: group.pythonHome });
      const daemon = daemonServerConfig(config, group);
      checkParallelSupport(daemon, install.version, install.library);
      resolveIdentity(daemon.user, daemon.group, { user: "user=", group: "group=" });
    } catch (error) {
      if (error instanceof ConfigError) throw error; // names the alias; a usage error (exit 2)
      throw new StartupError(`daemon process group '${group.name}': ${(error as Error).message}`);
    }
  }
  const port = reservePort(config.host, config.port);
  // The children share every port: one the kernel picks (--https-port 0) is picked here, once.
  const https = config.listeners.find((listener, i) => i > 0 && listener.tls && !listener.source);
  const extra = https?.port === 0 ? ["--https-port", String(reservePort(https.host, 0))] : [];
  const logFiles: LogFile[] = [];
  new Supervisor(config, [...argv, ...extra], port, openErrorLog(config, logFiles), logFiles).start();
}

/** A process on the HTTP ports: the embedded group's routes here, the daemon groups' through their sockets. */
function serveFront(config: ServerConfig, supervised: boolean): void {
  let daemons: DaemonGroups | undefined;
  if (config.daemons.length) {
    const groups = (daemons = new DaemonGroups(config.daemons));
    // The supervisor's lists of live daemon sockets; set up before anything else, so none is missed.
    process.on("message", (message: DaemonList) => {
      if (!message || typeof message !== "object" || !("daemons" in message)) return;
      groups.update(message.daemons);
      const ack: DaemonListAck = { ack: message.seq };
      process.send?.(ack);
    });
  }
  serve(config, supervised, "Process", { daemons });
}

/** A process of daemon group `group`: its routes, behind its private socket. */
function serveDaemon(config: ServerConfig, group: DaemonGroupConfig, socket: string): void {
  let told = false;
  const onScriptChanged = () => {
    if (told) return;
    told = true;
    const message: ChildMessage = { scriptChanged: true };
    process.send?.(message);
  };
  serve(config, true, "Daemon process", { daemon: { group, socket, onScriptChanged } }, ` of group '${group.name}'`);
}

function serve(config: ServerConfig, supervised: boolean, role: string, roleOptions: StartOptions, groupWords = ""): void {
  // Handlers first: "listening" is logged inside startServer, and a signal arriving before its handler
  // exists gets the default action (SIGHUP would kill us). Handlers run from the event loop, after
  // startServer has returned, so `running` is always set when they do.
  let running: Running;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.errorLog.notice(`Caught ${signal}, shutting down gracefully (up to ${config.gracefulTimeout} s).`);
    roleOptions.daemons?.closing();
    await running.drain(config.gracefulTimeout * 1000);
    running.errorLog.notice(`${role} ${process.pid}${groupWords} exiting after ${signal}.`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Reloading means new processes: the supervisor's job. A lone process keeps serving.
  process.on("SIGHUP", () => {
    if (!supervised) running.errorLog.notice("Caught SIGHUP: graceful reload needs --processes; still serving.");
  });
  process.on("SIGUSR1", () => running.reopenLogs());

  const recycler = supervised ? new Recycler(config.maximumRequests, config.restartInterval) : null;
  running = startServer(config, {
    ...roleOptions,
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
