// A front process's view of the daemon process groups: the live sockets of each (as the supervisor
// lists them), which one takes the next request (the fewest outstanding, ties in turn), pooled
// connections to each, and waiting, up to the group's connect-timeout, while a group has no process to
// take a request (starting, restarting, replacing one that died).
import type { DaemonGroupConfig } from "../config.ts";
import { Upstream } from "./upstream.ts";

/** A socket that refused a connection is skipped this long (the supervisor soon lists its successor). */
const DOWN_MS = 1_000;
/** Idle pooled connections per socket, and how long one is kept (the daemon keeps them far longer). */
const MAX_IDLE = 64;
const IDLE_MS = 30_000;

export class DaemonSocket {
  /** Requests sent to it and not finished. */
  outstanding = 0;
  /**
   * Until when it gets no request: it answered that a script changed, so it is being replaced. (Should
   * its successor never come, it is tried again after the group's connect-timeout.)
   */
  staleUntil = 0;
  /** No longer listed by the supervisor. */
  removed = false;
  downUntil = 0;
  private readonly idle: Upstream[] = [];

  constructor(readonly path: string) {}

  /** A pooled connection, or a new one; null when the socket refuses (then it is skipped a while). */
  async connection(): Promise<Upstream | null> {
    const now = Date.now();
    for (let upstream = this.idle.pop(); upstream; upstream = this.idle.pop()) {
      if (!upstream.closed && now - upstream.idleSince < IDLE_MS) return upstream;
      upstream.close();
    }
    const upstream = await Upstream.connect(this.path);
    if (upstream instanceof Error) {
      this.downUntil = Date.now() + DOWN_MS;
      return null;
    }
    return upstream;
  }

  /** The request is over: its connection goes back to the pool when it can carry another. */
  release(upstream: Upstream, reusable: boolean): void {
    this.outstanding--;
    if (!reusable || this.removed || upstream.closed || this.idle.length >= MAX_IDLE) return upstream.close();
    upstream.reused = true;
    upstream.idleSince = Date.now();
    this.idle.push(upstream);
  }

  closeIdle(olderThan = 0): void {
    const now = Date.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const upstream = this.idle[i]!;
      if (now - upstream.idleSince < olderThan) continue;
      upstream.close();
      this.idle.splice(i, 1);
    }
  }
}

export class DaemonGroup {
  sockets: DaemonSocket[] = [];
  closing = false;
  private turn = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly name: string, readonly connectTimeoutMs: number) {}

  /**
   * The socket for the next request (counted as outstanding on it), waiting for one until `deadline`;
   * null if none came.
   */
  async pick(deadline: number): Promise<DaemonSocket | null> {
    for (;;) {
      const now = Date.now();
      const sockets = this.sockets;
      let best: DaemonSocket | null = null;
      let nextUp = Infinity;
      for (let i = 0; i < sockets.length; i++) {
        const socket = sockets[(this.turn + i) % sockets.length]!;
        const until = Math.max(socket.downUntil, socket.staleUntil);
        if (until > now) {
          nextUp = Math.min(nextUp, until);
          continue;
        }
        if (!best || socket.outstanding < best.outstanding) best = socket;
      }
      if (best) {
        this.turn++;
        best.outstanding++;
        return best;
      }
      // A process that is stopping places nothing new: it answers 503 rather than hold its shutdown.
      if (now >= deadline || this.closing) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.min(deadline, nextUp) - now);
        const waiters = this.waiters;
        function wake() {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
        waiters.add(wake);
      });
    }
  }

  /** The supervisor's list: new sockets join, the ones gone get no new request (those under way finish). */
  update(paths: string[]): void {
    const kept: DaemonSocket[] = [];
    for (const socket of this.sockets) {
      if (paths.includes(socket.path)) kept.push(socket);
      else {
        socket.removed = true;
        socket.closeIdle();
      }
    }
    for (const path of paths) {
      if (!kept.some((socket) => socket.path === path)) kept.push(new DaemonSocket(path));
    }
    this.sockets = kept;
    for (const wake of [...this.waiters]) wake();
  }
}

export class DaemonGroups {
  private readonly groups = new Map<string, DaemonGroup>();
  private readonly sweep: Timer;

  constructor(configs: DaemonGroupConfig[]) {
    for (const config of configs) this.groups.set(config.name, new DaemonGroup(config.name, config.connectTimeout * 1000));
    this.sweep = setInterval(() => {
      for (const group of this.groups.values()) for (const socket of group.sockets) socket.closeIdle(IDLE_MS);
    }, IDLE_MS / 3);
    this.sweep.unref();
  }

  get(name: string): DaemonGroup | undefined {
    return this.groups.get(name);
  }

  update(lists: Record<string, string[]>): void {
    for (const [name, group] of this.groups) group.update(lists[name] ?? []);
  }

  /** This process stops: requests no process can take now get 503 at once. */
  closing(): void {
    for (const group of this.groups.values()) {
      group.closing = true;
      group.update(group.sockets.map((socket) => socket.path)); // wakes the waiting
    }
  }
}
