// `--processes N`: a parent holding no Python starts N copies of this program, all listening on one
// port with SO_REUSEPORT (the kernel spreads new connections over them), and keeps N running:
// a child that dies is logged with its cause and replaced, with back-off when it dies at start-up.
// SIGTERM/SIGINT stop the children gracefully; SIGUSR1 has every process reopen its log files; SIGHUP
// replaces them, new ones up before old ones go, and so does a child that asks to be recycled
// (--maximum-requests, --restart-interval, a request stuck past --request-timeout, a GIL deadlock).
//
// With daemon process groups (WSGIDaemonProcess), it also runs each group's processes, every one on a
// private unix socket in a directory only this user can enter, and tells the front processes (those
// on the port) which sockets are live: a daemon is listed once ready and unlisted before it is asked
// to stop, and it is asked only once every front has said it stopped sending it requests
// (daemon-lists.ts). A daemon that finds a script changed restarts its group, one process at a time.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerConfig } from "../config.ts";
import { DAEMON_GROUP_ENV, DAEMON_SOCKET_ENV, type DaemonListAck } from "../daemon/protocol.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { type LogFile, reopenLogs } from "../log/log-files.ts";
import { isStatusMessage, SupervisorRelay, type RelayChild, type StatusMessage } from "../status/relay.ts";
import { DaemonLists } from "./daemon-lists.ts";
import { PROCESS_SLOT_ENV, selfCommand } from "./self-command.ts";

const QUICK_DEATH_MS = 5_000; // a child dying sooner than this after its start counts as a start-up failure
const MAX_BACKOFF_MS = 30_000;

/** The processes of one group: the fronts (the embedded group, on the port) or a daemon group's. */
export interface ProcessGroup {
  /** "" for the fronts. */
  name: string;
  processes: number;
  gracefulTimeout: number;
  displayName?: string;
}

interface Child {
  group: ProcessGroup;
  slot: number;
  process: Subprocess;
  startedAt: number;
  ready: boolean;
  /** SIGUSR1 came while it was starting, its log files already open: it gets the signal once ready. */
  reopenPending?: boolean;
  /** Asked to stop (replaced, or the supervisor stopping): its exit is expected. */
  retiring: boolean;
  /** A successor is starting for it. */
  replacing: boolean;
  /** Why it was asked to stop, for the line that logs its exit. */
  stopReason: string;
  /** SIGKILL for a child that outlives its --graceful-timeout (and a margin) after SIGTERM. */
  killTimer: Timer | null;
  /** A daemon's socket, and whether the fronts are told to use it. */
  socket?: string;
  listed: boolean;
  /** Runs once it is ready (a successor's: retire its predecessor); passed on if it dies first. */
  onReady?: (child: Child) => void;
}

/** Why a child asks to be replaced. */
export type RecycleReason = "maximum-requests" | "restart-interval" | "request-timeout" | "deadlock-timeout";

/** What a child tells its supervisor over IPC (and --server-status's gathering, status/relay.ts). */
export type ChildMessage = { ready: true } | { recycle: RecycleReason } | { scriptChanged: true } | DaemonListAck | StatusMessage;

/** The supervisor's words for each reason, and whether it is a routine replacement (info) or a failure (notice). */
const RECYCLE_REASONS: Record<RecycleReason, [string, "info" | "notice"]> = {
  "maximum-requests": ["reached its maximum-requests", "info"],
  "restart-interval": ["reached its restart-interval", "info"],
  "request-timeout": ["has a request stuck past its request-timeout", "notice"],
  "deadlock-timeout": ["detected a Python GIL deadlock (deadlock-timeout)", "notice"],
};

/** A child still running this long after its SIGTERM, beyond --graceful-timeout, is killed. */
const KILL_MARGIN_MS = 5_000;

const processes = (n: number) => `${n} process${n === 1 ? "" : "es"}`;

/** "Process 0 (pid 12)" for a front, "Daemon process 0 of group 'app' (pid 12)" for a daemon. */
function label(child: Child): string {
  const what = child.group.name ? `Daemon process ${child.slot} of group '${child.group.name}'` : `Process ${child.slot}`;
  return `${what} (pid ${child.process.pid})`;
}

export class Supervisor {
  private readonly children = new Set<Child>();
  private readonly backoff = new Map<string, number>();
  private readonly fronts: ProcessGroup;
  private readonly daemons: ProcessGroup[];
  /** Where the daemons' sockets are: made private (0700) for this run, removed at exit. */
  private readonly runtimeDir: string | null;
  private sockets = 0;
  private readonly lists: DaemonLists<Child>;
  /** Daemon groups restarting one process at a time, and whether another restart is due after. */
  private readonly restarting = new Map<ProcessGroup, { members: Set<Child>; again: boolean }>();
  private stopping = false;
  /** --server-status: gathers every child's figures for the one a status request reached. */
  private readonly status: SupervisorRelay | null;
  /** Stopping: retires the daemons once the fronts have exited. */
  private afterFronts: (() => void) | null = null;

  constructor(
    private readonly config: ServerConfig,
    private readonly argv: string[],
    private readonly port: number,
    private readonly log: ErrorLog,
    /** The supervisor's own log file (its error log), reopened on SIGUSR1. */
    private readonly logFiles: LogFile[] = [],
  ) {
    // The status page shows the processes on the port (a daemon's requests are counted by the front that relayed them).
    this.status = config.serverStatus
      ? new SupervisorRelay(() => [...this.children].filter((child) => !child.group.name).map((child) => this.relayChild(child)))
      : null;
    this.fronts = { name: "", processes: config.processes, gracefulTimeout: config.gracefulTimeout };
    this.daemons = config.daemons.map((d) => ({ name: d.name, processes: d.processes, gracefulTimeout: d.gracefulTimeout, displayName: d.displayName }));
    this.runtimeDir = this.daemons.length ? mkdtempSync(join(tmpdir(), "wsgi-bin-")) : null;
    this.lists = new DaemonLists(() => this.children, this.daemons.map((group) => group.name));
  }

  start(): void {
    const groups = this.daemons.map((group) => `, daemon process group '${group.name}' (${processes(group.processes)})`).join("");
    this.log.notice(`Supervisor (pid ${process.pid}) starting ${processes(this.config.processes)} on port ${this.port}${groups}.`);
    // Daemons first: the fronts' first requests for them wait less.
    for (const group of this.daemons) for (let slot = 0; slot < group.processes; slot++) this.spawn(group, slot, "at start-up");
    for (let slot = 0; slot < this.fronts.processes; slot++) this.spawn(this.fronts, slot, "at start-up");
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    process.on("SIGHUP", () => this.reload());
    process.on("SIGUSR1", () => this.reopenLogs());
  }

  /**
   * SIGUSR1 (logrotate): its own log reopened, then each ready child's, every process reopening its
   * own files. One still starting may not handle the signal yet (its default action is to exit), but
   * may have opened its files before the rotation: it gets the signal once it says it is ready.
   */
  private reopenLogs(): void {
    reopenLogs(this.logFiles, this.log);
    for (const child of this.children) {
      if (child.ready) child.process.kill("SIGUSR1");
      else child.reopenPending = true;
    }
  }

  private relayChild(child: Child): RelayChild {
    const { slot, startedAt, ready } = child;
    return { slot, pid: child.process.pid, startedAt, ready, send: (message) => child.process.send(message) };
  }

  /** Starts a process in `slot` of `group`; `why` ends its "Started" line. */
  private spawn(group: ProcessGroup, slot: number, why: string, onReady?: (child: Child) => void): Child {
    const child: Child = {
      group, slot, process: null as unknown as Subprocess, startedAt: Date.now(), ready: false, retiring: false, replacing: false,
      stopReason: "", killTimer: null, listed: false, onReady,
    };
    const env: Record<string, string | undefined> = { ...process.env, [PROCESS_SLOT_ENV]: String(slot) };
    if (group.name) {
      child.socket = join(this.runtimeDir!, `${++this.sockets}.sock`);
      env[DAEMON_GROUP_ENV] = group.name;
      env[DAEMON_SOCKET_ENV] = child.socket;
    }
    child.process = Bun.spawn(selfCommand([...this.argv, "--port", String(this.port)]), {
      env,
      // display-name=: what `ps` shows as the command (the process also renames its thread, see daemon-process.ts).
      ...(group.displayName ? { argv0: group.displayName } : {}),
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message: ChildMessage) => this.message(child, message),
      onExit: (_process, exitCode, signalCode) => this.exited(child, exitCode, signalCode === null ? null : String(signalCode)),
    });
    this.children.add(child);
    this.log.info(`Started ${label(child).replace(/^[A-Z]/, (c) => c.toLowerCase())}: ${why}.`);
    if (!group.name) this.lists.send(child);
    return child;
  }

  private message(child: Child, message: ChildMessage): void {
    if (isStatusMessage(message)) this.status?.receive(this.relayChild(child), message);
    else if ("ready" in message && !child.ready) {
      child.ready = true;
      this.backoff.delete(`${child.group.name}\0${child.slot}`);
      this.log.info(`${label(child)} ready.`);
      if (child.reopenPending) {
        child.reopenPending = false;
        child.process.kill("SIGUSR1");
      }
      if (child.group.name && !child.retiring) {
        child.listed = true;
        this.lists.broadcast();
      } else if (!child.group.name) this.lists.send(child); // again, should the first have been missed
      const onReady = child.onReady;
      child.onReady = undefined;
      onReady?.(child);
    } else if ("recycle" in message) {
      const [words, level] = RECYCLE_REASONS[message.recycle] ?? [`asked to be replaced (${message.recycle})`, "notice"];
      this.log.write(level, `${label(child)} ${words}: replacing it.`);
      this.replace(child, message.recycle);
    } else if ("scriptChanged" in message) {
      this.restartGroup(child);
    } else if ("ack" in message) {
      this.lists.ack(child, message.ack);
    }
  }

  private exited(child: Child, exitCode: number | null, signalCode: string | null): void {
    this.children.delete(child);
    if (child.killTimer) clearTimeout(child.killTimer);
    if (child.socket) {
      try {
        unlinkSync(child.socket);
      } catch {
        // never bound, or already gone
      }
    }
    if (child.listed) {
      child.listed = false;
      this.lists.broadcast();
    }
    this.lists.gone(child);
    const cause = signalCode ? `signal ${signalCode}` : `exit code ${exitCode}`;
    if (child.retiring || this.stopping) {
      this.log.info(`${label(child)} stopped (${cause}): ${child.stopReason || "supervisor stopping"}.`);
      if (this.stopping && this.afterFronts && ![...this.children].some((other) => !other.group.name)) {
        const daemons = this.afterFronts;
        this.afterFronts = null;
        daemons();
      }
      if (this.stopping && this.children.size === 0) this.exit();
      return;
    }
    const lived = Date.now() - child.startedAt;
    const key = `${child.group.name}\0${child.slot}`;
    const delay = lived < QUICK_DEATH_MS ? Math.min((this.backoff.get(key) ?? 250) * 2, MAX_BACKOFF_MS) : 0;
    if (delay) this.backoff.set(key, delay);
    // A process whose successor is already starting is not replaced twice.
    const replaced = child.replacing;
    this.log.error(
      `${label(child)} died with ${cause} after ${(lived / 1000).toFixed(1)} s; ` +
        (replaced ? "its successor is starting." : delay ? `restarting in ${(delay / 1000).toFixed(1)} s.` : "restarting."),
    );
    if (replaced) return;
    setTimeout(() => {
      // A successor that died before it was ready hands on the predecessor it was to replace.
      if (!this.stopping) this.spawn(child.group, child.slot, `replacing pid ${child.process.pid}, which died`, child.onReady);
    }, delay);
  }

  /** Graceful reload: each slot's new process is up before its old one is asked to drain and go. */
  private reload(): void {
    if (this.stopping) return;
    this.log.notice("Caught SIGHUP, replacing processes gracefully.");
    for (const old of [...this.children]) this.replace(old, "SIGHUP reload");
  }

  /** Starts a successor in the old process's slot; once it is ready, the old one drains and exits. */
  private replace(old: Child, reason: string, then?: () => void): void {
    // Gone already (it died while a group restart waited to reach it): its slot is being refilled.
    if (!this.children.has(old) || old.retiring || old.replacing || this.stopping) return then?.();
    old.replacing = true;
    this.spawn(old.group, old.slot, `successor of pid ${old.process.pid} (${reason})`, (successor) => {
      this.retire(old, `replaced by pid ${successor.process.pid} (${reason})`);
      then?.();
    });
  }

  /**
   * mod_wsgi's daemon-mode reload: a daemon found its script changed. Its group's processes are replaced
   * one at a time, each successor ready before its predecessor goes; the fronts and other groups go on.
   */
  private restartGroup(noticer: Child): void {
    const group = noticer.group;
    if (!group.name || this.stopping) return;
    const running = this.restarting.get(group);
    if (running) {
      // One of the processes started for this restart found a further change: another round after.
      if (!running.members.has(noticer)) running.again = true;
      return;
    }
    // Processes still starting load the script as it is now; those already being replaced are replaced.
    const members = [...this.children].filter((child) => child.group === group && child.ready && !child.retiring && !child.replacing);
    const state = { members: new Set(members), again: false };
    this.restarting.set(group, state);
    const started = Date.now();
    this.log.notice(`${label(noticer)} found a WSGI script changed: restarting daemon process group '${group.name}' ` +
      `(${processes(members.length)}, one at a time).`);
    const next = (i: number) => {
      if (i < members.length) return this.replace(members[i]!, "script changed", () => next(i + 1));
      this.restarting.delete(group);
      this.log.notice(`Daemon process group '${group.name}' restarted: ${processes(members.length)} in ${((Date.now() - started) / 1000).toFixed(2)} s.`);
      if (state.again) {
        const again = [...this.children].find((child) => child.group === group && !child.retiring);
        if (again) this.restartGroup(again);
      }
    };
    next(0);
  }

  /**
   * SIGTERM: the child drains for up to its graceful timeout; one still there after a margin more is
   * killed. A daemon is first unlisted, and asked once the fronts have stopped sending it requests.
   */
  private retire(child: Child, reason: string): void {
    if (child.retiring) return;
    child.retiring = true;
    child.stopReason = reason;
    if (child.listed && !this.stopping) {
      child.listed = false;
      this.lists.afterAcks(this.lists.broadcast(), () => this.terminate(child));
    } else this.terminate(child);
  }

  private terminate(child: Child): void {
    if (child.killTimer || !this.children.has(child)) return;
    child.process.kill("SIGTERM");
    child.killTimer = setTimeout(() => {
      this.log.error(`${label(child)} still running ${child.group.gracefulTimeout} s ` +
        `(${child.group.name ? "graceful-timeout=" : "--graceful-timeout"}) and ${KILL_MARGIN_MS / 1000} s after SIGTERM: killing it (SIGKILL).`);
      child.process.kill("SIGKILL");
    }, child.group.gracefulTimeout * 1000 + KILL_MARGIN_MS);
  }

  private stop(signal: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.notice(`Caught ${signal}, stopping ${this.children.size} processes gracefully.`);
    if (this.children.size === 0) return this.exit();
    // The fronts first: what they still hold for a daemon group reaches it. The daemons once the
    // fronts are gone (or their graceful timeout is up).
    const fronts = [...this.children].filter((child) => !child.group.name);
    for (const child of fronts) this.retire(child, `supervisor stopping (${signal})`);
    const daemons = () => {
      for (const child of this.children) this.retire(child, `supervisor stopping (${signal})`);
    };
    if (fronts.length === 0) daemons();
    else {
      this.afterFronts = daemons;
      setTimeout(daemons, this.fronts.gracefulTimeout * 1000 + KILL_MARGIN_MS).unref();
    }
    // Each child is killed past its own deadline (terminate); its exit then ends the supervisor. Should
    // one not even go then, nothing may hold the supervisor's exit.
    const longest = this.fronts.gracefulTimeout + Math.max(0, ...this.daemons.map((group) => group.gracefulTimeout));
    setTimeout(() => {
      this.log.error(`${this.children.size} processes did not exit, even killed: supervisor exiting without them.`);
      if (this.runtimeDir) rmSync(this.runtimeDir, { recursive: true, force: true });
      process.exit(0);
    }, longest * 1000 + 2 * KILL_MARGIN_MS).unref();
  }

  private exit(): never {
    if (this.runtimeDir) rmSync(this.runtimeDir, { recursive: true, force: true });
    this.log.notice(`All processes stopped, supervisor (pid ${process.pid}) exiting.`);
    process.exit(0);
  }
}

/** The port all children will share: the configured one, checked free, or one the kernel picks. */
export function reservePort(host: string, port: number): number {
  const probe = Bun.listen({ hostname: host, port, socket: { data() {} } });
  const chosen = probe.port;
  probe.stop(true);
  return chosen;
}
