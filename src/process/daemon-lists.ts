// The supervisor's side of the daemon socket lists: which sockets of each daemon process group the
// front processes may use, sent to every front whenever it changes, and the fronts' confirmations, so
// that a daemon is asked to stop only once no front sends it new requests (src/daemon/daemon-groups.ts
// is the fronts' side).
import type { DaemonList } from "../daemon/protocol.ts";

/** How long a daemon waits, unlisted, for the fronts to confirm before it is asked to stop anyway. */
const ACK_TIMEOUT_MS = 2_000;

/** What the lists need to know of a process. */
export interface ListedProcess {
  /** A daemon's group ("" for a front). */
  group: { name: string };
  /** A daemon's socket. */
  socket?: string;
  /** A daemon the fronts are told to use (ready, not retiring). */
  listed: boolean;
  process: { send(message: unknown): void };
}

interface Awaiting<P> {
  seq: number;
  fronts: Set<P>;
  done: () => void;
  timer: Timer;
}

export class DaemonLists<P extends ListedProcess> {
  private seq = 0;
  private readonly awaiting = new Set<Awaiting<P>>();

  /** `processes()`: every live process; `groups`: every daemon group's name. */
  constructor(private readonly processes: () => Iterable<P>, private readonly groups: string[]) {}

  private fronts(): P[] {
    return [...this.processes()].filter((child) => !child.group.name);
  }

  private current(): DaemonList {
    const daemons: Record<string, string[]> = {};
    for (const group of this.groups) daemons[group] = [];
    for (const child of this.processes()) if (child.listed) daemons[child.group.name]!.push(child.socket!);
    return { daemons, seq: this.seq };
  }

  /** Sends the current lists to one front (a new one). */
  send(front: P, list = this.current()): void {
    if (this.groups.length === 0) return;
    try {
      front.process.send(list);
    } catch {
      // it is exiting: its exit is handled on its own
    }
  }

  /** Tells every front the current lists; returns their number, for afterAcks. */
  broadcast(): number {
    this.seq++;
    const list = this.current();
    for (const front of this.fronts()) this.send(front, list);
    return this.seq;
  }

  /** Runs `done` once every front has confirmed lists `seq` (or newer), or after ACK_TIMEOUT_MS. */
  afterAcks(seq: number, done: () => void): void {
    const fronts = new Set(this.fronts());
    if (fronts.size === 0) return done();
    const waiting: Awaiting<P> = { seq, fronts, done, timer: setTimeout(() => this.settle(waiting), ACK_TIMEOUT_MS) };
    this.awaiting.add(waiting);
  }

  /** A front confirmed lists `seq`. */
  ack(front: P, seq: number): void {
    for (const waiting of [...this.awaiting]) {
      if (seq >= waiting.seq && waiting.fronts.delete(front) && waiting.fronts.size === 0) this.settle(waiting);
    }
  }

  /** A process exited: a front no longer has anything to confirm. */
  gone(child: P): void {
    for (const waiting of [...this.awaiting]) {
      if (waiting.fronts.delete(child) && waiting.fronts.size === 0) this.settle(waiting);
    }
  }

  private settle(waiting: Awaiting<P>): void {
    if (!this.awaiting.delete(waiting)) return;
    clearTimeout(waiting.timer);
    waiting.done();
  }
}
