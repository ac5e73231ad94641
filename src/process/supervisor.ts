// `--processes N`: a parent holding no Python starts N copies of this program, all listening on one
// port with SO_REUSEPORT (the kernel spreads new connections over them), and keeps N running:
// a child that dies is logged with its cause and replaced, with back-off when it dies at start-up.
// SIGTERM/SIGINT stop the children gracefully; SIGHUP replaces them, new ones up before old ones go,
// and so does a child that asks to be recycled (--maximum-requests, --restart-interval, a request
// stuck past --request-timeout, a GIL deadlock).
import type { Subprocess } from "bun";
import type { ServerConfig } from "../config.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { PROCESS_SLOT_ENV, selfCommand } from "./self-command.ts";

const QUICK_DEATH_MS = 5_000; // a child dying sooner than this after its start counts as a start-up failure
const MAX_BACKOFF_MS = 30_000;

interface Child {
  slot: number;
  process: Subprocess;
  startedAt: number;
  ready: boolean;
  /** Replaced by a reload or being stopped: its exit is expected. */
  retiring: boolean;
  /** A successor is starting for it. */
  replacing: boolean;
}

/** Why a child asks to be replaced. */
export type RecycleReason = "maximum-requests" | "restart-interval" | "request-timeout" | "deadlock-timeout";

/** What a child tells its supervisor over IPC. */
export type ChildMessage = { ready: true } | { recycle: RecycleReason };

/** The supervisor's words for each reason, and whether it is a routine replacement (info) or a failure (notice). */
const RECYCLE_REASONS: Record<RecycleReason, [string, "info" | "notice"]> = {
  "maximum-requests": ["reached its maximum-requests", "info"],
  "restart-interval": ["reached its restart-interval", "info"],
  "request-timeout": ["has a request stuck past its request-timeout", "notice"],
  "deadlock-timeout": ["detected a Python GIL deadlock (deadlock-timeout)", "notice"],
};

export class Supervisor {
  private readonly children = new Set<Child>();
  private readonly backoff = new Map<number, number>();
  private stopping = false;

  constructor(
    private readonly config: ServerConfig,
    private readonly argv: string[],
    private readonly port: number,
    private readonly log: ErrorLog,
  ) {}

  start(): void {
    this.log.notice(`Supervisor (pid ${process.pid}) starting ${this.config.processes} processes on port ${this.port}.`);
    for (let slot = 0; slot < this.config.processes; slot++) this.spawn(slot);
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    process.on("SIGHUP", () => this.reload());
  }

  private spawn(slot: number, onReady?: () => void): Child {
    const child: Child = {
      slot, process: null as unknown as Subprocess, startedAt: Date.now(), ready: false, retiring: false, replacing: false,
    };
    child.process = Bun.spawn(selfCommand([...this.argv, "--port", String(this.port)]), {
      env: { ...process.env, [PROCESS_SLOT_ENV]: String(slot) },
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message: ChildMessage) => {
        if ("ready" in message && !child.ready) {
          child.ready = true;
          this.backoff.delete(slot);
          onReady?.();
        } else if ("recycle" in message) {
          const [words, level] = RECYCLE_REASONS[message.recycle] ?? [`asked to be replaced (${message.recycle})`, "notice"];
          this.log.write(level, `Process ${slot} (pid ${child.process.pid}) ${words}: replacing it.`);
          this.replace(child);
        }
      },
      onExit: (_process, exitCode, signalCode) => this.exited(child, exitCode, signalCode === null ? null : String(signalCode)),
    });
    this.children.add(child);
    this.log.info(`Started process ${slot} (pid ${child.process.pid}).`);
    return child;
  }

  private exited(child: Child, exitCode: number | null, signalCode: string | null): void {
    this.children.delete(child);
    const cause = signalCode ? `signal ${signalCode}` : `exit code ${exitCode}`;
    if (child.retiring || this.stopping) {
      this.log.info(`Process ${child.slot} (pid ${child.process.pid}) stopped (${cause}).`);
      if (this.stopping && this.children.size === 0) {
        this.log.notice("All processes stopped, supervisor exiting.");
        process.exit(0);
      }
      return;
    }
    const lived = Date.now() - child.startedAt;
    const delay = lived < QUICK_DEATH_MS ? Math.min((this.backoff.get(child.slot) ?? 250) * 2, MAX_BACKOFF_MS) : 0;
    if (delay) this.backoff.set(child.slot, delay);
    this.log.error(
      `Process ${child.slot} (pid ${child.process.pid}) died with ${cause} after ${(lived / 1000).toFixed(1)} s; ` +
        (delay ? `restarting in ${(delay / 1000).toFixed(1)} s.` : "restarting."),
    );
    setTimeout(() => {
      if (!this.stopping) this.spawn(child.slot);
    }, delay);
  }

  /** Graceful reload: each slot's new process is up before its old one is asked to drain and go. */
  private reload(): void {
    if (this.stopping) return;
    this.log.notice("Caught SIGHUP, replacing processes gracefully.");
    for (const old of [...this.children]) this.replace(old);
  }

  /** Starts a successor in the old process's slot; once it listens, the old one drains and exits. */
  private replace(old: Child): void {
    if (old.retiring || old.replacing || this.stopping) return;
    old.replacing = true;
    this.spawn(old.slot, () => {
      old.retiring = true;
      old.process.kill("SIGTERM");
    });
  }

  private stop(signal: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.notice(`Caught ${signal}, stopping ${this.children.size} processes gracefully.`);
    if (this.children.size === 0) process.exit(0);
    for (const child of this.children) child.process.kill("SIGTERM");
    // Children drain for up to --graceful-timeout; after that (and a margin) nothing may hold the exit.
    setTimeout(() => {
      for (const child of this.children) child.process.kill("SIGKILL");
      process.exit(0);
    }, (this.config.gracefulTimeout + 5) * 1000).unref();
  }
}

/** The port all children will share: the configured one, checked free, or one the kernel picks. */
export function reservePort(host: string, port: number): number {
  const probe = Bun.listen({ hostname: host, port, socket: { data() {} } });
  const chosen = probe.port;
  probe.stop(true);
  return chosen;
}
