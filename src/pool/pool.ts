// The HTTP thread's side of the worker threads: who is idle, who waits for one, and the wait for a
// worker's next message (Atomics.waitAsync: no structured clone, no postMessage on the hot path).
import { BodyRing } from "./body-ring.ts";
import { Channel, DIRECT_GONE, DIRECT_TAKEN, EVENTS, isFinal, SEQ_TO_MAIN, SEQ_TO_WORKER, STARTED, ToWorker } from "./channel.ts";
import type { WorkerInit } from "./messages.ts";

export class WorkerSlot {
  readonly channel: Channel;
  /** The HTTP thread's side of a streamed body's ring in the channel (made once: it keeps no state of its own). */
  readonly ring: BodyRing;
  /** What the worker reports while it reads a lent request body (RequestBody.handOver's DirectProgress). */
  readonly lentBody: { taken(): number; gone(): boolean };
  private seen: number;
  /** From a request sent until the worker's final message is taken: it must not be given another meanwhile. */
  running = false;

  /** Null until its turn to start (see Pool): a request sent meanwhile waits in the channel. */
  thread: Worker | null = null;

  constructor(readonly index: number, channel: Channel) {
    this.channel = channel;
    this.ring = new BodyRing(channel);
    const { control, wide } = channel;
    this.lentBody = { taken: () => wide[DIRECT_TAKEN]!, gone: () => Atomics.load(control, DIRECT_GONE) !== 0 };
    this.seen = 0; // a new channel: the worker has sent nothing yet
  }

  send(kind: ToWorker, length = 0, arg = 0): void {
    this.channel.sendToWorker(kind, length, arg);
  }

  /** A request (its head already in the data area), see ToWorker.Request for `arg`. */
  sendRequest(headLength: number, arg = 0): void {
    this.running = true;
    this.channel.sendToWorker(ToWorker.Request, headLength, arg);
  }

  /**
   * The worker waits for an answer to the last message taken from it. Messages are a strict ping-pong
   * in which every message but the final one is answered, so the two counts are equal only then
   * (SEQ_TO_WORKER moves on this thread only).
   */
  answerOwed(): boolean {
    return this.running && Atomics.load(this.channel.control, SEQ_TO_WORKER) === this.seen;
  }

  /** Resolves with the kind of the worker's next message, once it is in the channel. */
  async receive(): Promise<number> {
    for (;;) {
      const events = this.channel.events(); // before poll(): a message sent after it changes EVENTS
      const kind = this.poll();
      if (kind !== 0) return kind;
      await this.nextEvent(events);
    }
  }

  /** The kind of the worker's next message if it is in the channel, else 0 (at once). */
  poll(): number {
    const sent = Atomics.load(this.channel.control, SEQ_TO_MAIN);
    if (sent === this.seen) return 0;
    this.seen = sent;
    const kind = this.channel.kind();
    if (isFinal(kind)) this.running = false;
    return kind;
  }

  /**
   * Settles once the worker has sent a message or published a piece since EVENTS was `events`, or
   * sooner: waitAsync can settle without one (seen under load), so callers check and wait again.
   */
  nextEvent(events: number): Promise<unknown> | void {
    const wait = Atomics.waitAsync(this.channel.control, EVENTS, events);
    if (wait.async) return wait.value;
  }
}

export interface PoolOptions {
  threads: number;
  workerUrl: string | URL;
  /** Threads already started on workerUrl, loading their scripts while Python initialises (engine.ts): used first. */
  started?: Worker[];
  init: Omit<WorkerInit, "index" | "shared" | "setupLock">;
  dataSize?: number;
  /** The most requests that may wait for a free worker (--queue-limit); more are refused at once. */
  queueLimit?: number;
  /** What the log calls that setting: "--queue-limit", or a daemon group's "listen-backlog=". */
  queueLimitName?: string;
}

/** Why acquire() gave no worker; the caller answers 503 and logs `${reason} for ...: ${detail}`. */
export class Refusal {
  constructor(readonly reason: string, readonly detail: string) {}
}

interface Waiter {
  resolve: (slot: WorkerSlot | Refusal) => void;
  timer: Timer | null;
}

export class Pool {
  readonly slots: WorkerSlot[] = [];
  private readonly idle: WorkerSlot[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly queueLimit: number;
  /** Made once: under overload it is the answer to most requests. */
  private readonly queueFull: Refusal;

  private terminated = false;

  constructor(options: PoolOptions) {
    this.queueLimit = options.queueLimit ?? Number.POSITIVE_INFINITY;
    this.queueFull = new Refusal("Request queue full", `${this.queueLimit} requests already wait for a thread (${options.queueLimitName ?? "--queue-limit"})`);
    const setupLock = new SharedArrayBuffer(4);
    const start = (slot: WorkerSlot, thread: Worker) => {
      slot.thread = thread;
      thread.postMessage({ ...options.init, index: slot.index, shared: slot.channel.shared, setupLock } satisfies WorkerInit);
    };
    for (let index = 0; index < options.threads; index++) {
      const slot = new WorkerSlot(index, Channel.create(options.dataSize));
      const started = options.started?.[index];
      if (started) start(slot, started);
      this.slots.push(slot);
      this.idle.push(slot);
    }
    // acquire() pops: slot 0 goes first, the thread started first and so, at a cold start, ready first.
    this.idle.reverse();
    // The others one at a time, each once the last one runs (or after a second): started all at once,
    // their start-up (a JavaScript context and koffi each, a few ms of CPU) would take a small
    // machine's cores from the first requests, which the threads started first are serving.
    const rest = this.slots.filter((slot) => !slot.thread);
    const startNext = (): void => {
      const slot = rest.shift();
      if (!slot || this.terminated) return;
      start(slot, new Worker(options.workerUrl));
      const running = Atomics.waitAsync(slot.channel.control, STARTED, 0, 1000);
      if (running.async) void running.value.then(startNext);
      else startNext();
    };
    startNext();
  }

  /**
   * An idle worker, now or as soon as one is released (first come, first served). A Refusal instead
   * when the queue already holds queueLimit requests (at once: overload must not grow memory), or
   * when none was free within timeoutMs (0 waits as long as it takes). The timer exists only while
   * queued. `bounded` false skips the limit: for the few --import-script loads at start-up.
   */
  acquire(timeoutMs = 0, bounded = true): WorkerSlot | Refusal | Promise<WorkerSlot | Refusal> {
    const slot = this.idle.pop();
    if (slot) return slot;
    if (bounded && this.waiting.length >= this.queueLimit) return this.queueFull;
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, timer: null };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          resolve(new Refusal("Queue timeout expired", `no thread free within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.waiting.push(waiter);
    });
  }

  release(slot: WorkerSlot): void {
    const next = this.waiting.shift();
    if (!next) return void this.idle.push(slot);
    if (next.timer) clearTimeout(next.timer);
    next.resolve(slot);
  }

  get busy(): number {
    return this.slots.length - this.idle.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  terminate(): void {
    this.terminated = true;
    for (const slot of this.slots) slot.thread?.terminate();
  }
}
