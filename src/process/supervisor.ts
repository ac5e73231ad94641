// `--processes N`: a parent holding no Python starts N copies of this program, all listening on one
// port with SO_REUSEPORT (the kernel spreads new connections over them), and keeps N running:
// a child that dies is logged with its cause and replaced, with back-off when it dies at start-up.
// SIGTERM/SIGINT stop the children gracefully; SIGHUP replaces them, new ones up before old ones go,
// and so does a child that asks to be recycled (--maximum-requests, --restart-interval, a request
// stuck past --request-timeout, a GIL deadlock).
import type { Subprocess } from "bun";
import type { ServerConfig } from "../config.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { isStatusMessage, SupervisorRelay, type RelayChild, type StatusMessage } from "../status/relay.ts";
import { PROCESS_SLOT_ENV, selfCommand } from "./self-command.ts";

const QUICK_DEATH_MS = 5_000; // a child dying sooner than this after its start counts as a start-up failure
const MAX_BACKOFF_MS = 30_000;

interface Child {
  slot: number;
  process: Subprocess;
  startedAt: number;
  ready: boolean;
  /** Asked to stop (replaced, or the supervisor stopping): its exit is expected. */
  retiring: boolean;
  /** A successor is starting for it. */
  replacing: boolean;
  /** Why it was asked to stop, for the line that logs its exit. */
  stopReason: string;
  /** SIGKILL for a child that outlives its --graceful-timeout (and a margin) after SIGTERM. */
  killTimer: Timer | null;
}

/** Why a child asks to be replaced. */
export type RecycleReason = "maximum-requests" | "restart-interval" | "request-timeout" | "deadlock-timeout";

/** What a child tells its supervisor over IPC (and --server-status's gathering, status/relay.ts). */
export type ChildMessage = { ready: true } | { recycle: RecycleReason } | StatusMessage;

/** The supervisor's words for each reason, and whether it is a routine replacement (info) or a failure (notice). */
const RECYCLE_REASONS: Record<RecycleReason, [string, "info" | "notice"]> = {
  "maximum-requests": ["reached its maximum-requests", "info"],
  "restart-interval": ["reached its restart-interval", "info"],
  "request-timeout": ["has a request stuck past its request-timeout", "notice"],
  "deadlock-timeout": ["detected a Python GIL deadlock (deadlock-timeout)", "notice"],
};

/** A child still running this long after its SIGTERM, beyond --graceful-timeout, is killed. */
const KILL_MARGIN_MS = 5_000;

export class Supervisor {
  private readonly children = new Set<Child>();
  private readonly backoff = new Map<number, number>();
  private stopping = false;
  /** --server-status: gathers every child's figures for the one a status request reached. */
  private readonly status: SupervisorRelay | null;

  constructor(
    private readonly config: ServerConfig,
    private readonly argv: string[],
    private readonly port: number,
    private readonly log: ErrorLog,
  ) {
    this.status = config.serverStatus ? new SupervisorRelay(() => [...this.children].map((child) => this.relayChild(child))) : null;
  }

  start(): void {
    this.log.notice(`Supervisor (pid ${process.pid}) starting ${this.config.processes} processes on port ${this.port}.`);
    for (let slot = 0; slot < this.config.processes; slot++) this.spawn(slot, "at start-up");
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    process.on("SIGHUP", () => this.reload());
  }

  private relayChild(child: Child): RelayChild {
    const { slot, startedAt, ready } = child;
    return { slot, pid: child.process.pid, startedAt, ready, send: (message) => child.process.send(message) };
  }

  /** Starts a process in `slot`; `why` ends its "Started" line. */
  private spawn(slot: number, why: string, onReady?: (child: Child) => void): Child {
    const child: Child = {
      slot, process: null as unknown as Subprocess, startedAt: Date.now(), ready: false, retiring: false, replacing: false,
      stopReason: "", killTimer: null,
    };
    child.process = Bun.spawn(selfCommand([...this.argv, "--port", String(this.port)]), {
      env: { ...process.env, [PROCESS_SLOT_ENV]: String(slot) },
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message: ChildMessage) => {
        if (isStatusMessage(message)) this.status?.receive(this.relayChild(child), message);
        else if ("ready" in message && !child.ready) {
          child.ready = true;
          this.backoff.delete(slot);
          this.log.info(`Process ${slot} (pid ${child.process.pid}) ready.`);
          onReady?.(child);
        } else if ("recycle" in message) {
          const [words, level] = RECYCLE_REASONS[message.recycle] ?? [`asked to be replaced (${message.recycle})`, "notice"];
          this.log.write(level, `Process ${slot} (pid ${child.process.pid}) ${words}: replacing it.`);
          this.replace(child, message.recycle);
        }
      },
      onExit: (_process, exitCode, signalCode) => this.exited(child, exitCode, signalCode === null ? null : String(signalCode)),
    });
    this.children.add(child);
    this.log.info(`Started process ${slot} (pid ${child.process.pid}): ${why}.`);
    return child;
  }

  private exited(child: Child, exitCode: number | null, signalCode: string | null): void {
    this.children.delete(child);
    if (child.killTimer) clearTimeout(child.killTimer);
    const pid = child.process.pid;
    const cause = signalCode ? `signal ${signalCode}` : `exit code ${exitCode}`;
    if (child.retiring || this.stopping) {
      this.log.info(`Process ${child.slot} (pid ${pid}) stopped (${cause}): ${child.stopReason || "supervisor stopping"}.`);
      if (this.stopping && this.children.size === 0) this.exit();
      return;
    }
    const lived = Date.now() - child.startedAt;
    const delay = lived < QUICK_DEATH_MS ? Math.min((this.backoff.get(child.slot) ?? 250) * 2, MAX_BACKOFF_MS) : 0;
    if (delay) this.backoff.set(child.slot, delay);
    this.log.error(
      `Process ${child.slot} (pid ${pid}) died with ${cause} after ${(lived / 1000).toFixed(1)} s; ` +
        (delay ? `restarting in ${(delay / 1000).toFixed(1)} s.` : "restarting."),
    );
    setTimeout(() => {
      if (!this.stopping) this.spawn(child.slot, `replacing pid ${pid}, which died`);
    }, delay);
  }

  /** Graceful reload: each slot's new process is up before its old one is asked to drain and go. */
  private reload(): void {
    if (this.stopping) return;
    this.log.notice("Caught SIGHUP, replacing processes gracefully.");
    for (const old of [...this.children]) this.replace(old, "SIGHUP reload");
  }

  /** Starts a successor in the old process's slot; once it is ready, the old one drains and exits. */
  private replace(old: Child, reason: string): void {
    if (old.retiring || old.replacing || this.stopping) return;
    old.replacing = true;
    this.spawn(old.slot, `successor of pid ${old.process.pid} (${reason})`, (successor) => {
      this.retire(old, `replaced by pid ${successor.process.pid} (${reason})`);
    });
  }

  /** SIGTERM: the child drains for up to --graceful-timeout; one still there after a margin more is killed. */
  private retire(child: Child, reason: string): void {
    if (child.retiring) return;
    child.retiring = true;
    child.stopReason = reason;
    child.process.kill("SIGTERM");
    child.killTimer = setTimeout(() => {
      this.log.error(`Process ${child.slot} (pid ${child.process.pid}) still running ${this.config.gracefulTimeout} s ` +
        `(--graceful-timeout) and ${KILL_MARGIN_MS / 1000} s after SIGTERM: killing it (SIGKILL).`);
      child.process.kill("SIGKILL");
    }, this.config.gracefulTimeout * 1000 + KILL_MARGIN_MS);
  }

  private stop(signal: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.notice(`Caught ${signal}, stopping ${this.children.size} processes gracefully.`);
    if (this.children.size === 0) return this.exit();
    for (const child of this.children) this.retire(child, `supervisor stopping (${signal})`);
    // Each child is killed past its own deadline (retire); its exit then ends the supervisor. Should
    // one not even go then, nothing may hold the supervisor's exit.
    setTimeout(() => {
      this.log.error(`${this.children.size} processes did not exit, even killed: supervisor exiting without them.`);
      process.exit(0);
    }, this.config.gracefulTimeout * 1000 + 2 * KILL_MARGIN_MS).unref();
  }

  private exit(): never {
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
