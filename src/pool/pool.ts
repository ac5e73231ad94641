// The HTTP thread's side of the worker threads: which channels are free, who waits for one, the run
// queue that any worker takes a request from, and the wait for a worker's next message
// (Atomics.waitAsync: no structured clone, no postMessage on the hot path).
import { BodyRing } from "./body-ring.ts";
import { Channel, DIRECT_GONE, DIRECT_TAKEN, EVENTS, isFinal, SEQ_TO_MAIN, SEQ_TO_WORKER, ToWorker } from "./channel.ts";
import type { WorkerInit } from "./messages.ts";
import { RunQueue } from "./run-queue.ts";

/**
 * When a queued request wakes a sleeping worker. Waking one per request is what cost most with a fast
 * app: on 2 cores, hello world spent half its CPU in futex waits and wake-ups, a worker woken per
 * request and the GIL handed between eight of them. So a request wakes one only when the workers
 * awake are fewer than AWAKE_WANTED (one runs Python while the other does what needs no GIL), or
 * when those awake are not expected to reach it within STARVING_MS: the queue ahead of it times the
 * recent time a request took (an app that sleeps or waits on I/O), shared among them. A request
 * waiting STARVING_MS all the same (the workers awake blocked at once) wakes the rest. A worker that
 * waits on its client in the middle of a request is not awake for this rule (RunQueue.away).
 */
const AWAKE_WANTED = 2;
const STARVING_MS = 1;

export class WorkerSlot {
  readonly channel: Channel;
  /** The HTTP thread's side of a streamed body's ring in the channel (made once: it keeps no state of its own). */
  readonly ring: BodyRing;
  /** What the worker reports while it reads a lent request body (RequestBody.handOver's DirectProgress). */
  readonly lentBody: { taken(): number; gone(): boolean };
  private seen: number;
  /** From a request sent until the worker's final message is taken: it must not be given another meanwhile. */
  running = false;
  /** performance.now() when its request was queued, 0 when none is (the wake rule, see AWAKE_WANTED). */
  queuedAt = 0;

  constructor(readonly index: number, channel: Channel, private readonly queue: (slot: WorkerSlot) => void) {
    this.channel = channel;
    this.ring = new BodyRing(channel);
    const { control, wide } = channel;
    this.lentBody = { taken: () => wide[DIRECT_TAKEN]!, gone: () => Atomics.load(control, DIRECT_GONE) !== 0 };
    this.seen = 0; // a new channel: the worker has sent nothing yet
  }

  send(kind: ToWorker, length = 0, arg = 0): void {
    this.channel.sendToWorker(kind, length, arg);
  }

  /** A request (its head already in the data area), see ToWorker.Request for `arg`: queued for any worker. */
  sendRequest(headLength: number, arg = 0): void {
    this.running = true;
    this.channel.setMessage(ToWorker.Request, headLength, arg);
    Atomics.add(this.channel.control, SEQ_TO_WORKER, 1); // no worker waits on this channel: no notify
    this.queue(this);
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
  init: Omit<WorkerInit, "index" | "channels" | "runQueue" | "setupLock">;
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
  private readonly threads: Worker[] = [];
  private readonly runQueue: RunQueue;
  private starvingTimer: Timer | null = null;
  /** How long requests took lately, queued to done (a moving average, ms): the wake rule's guess. */
  private requestMs = 0;

  constructor(options: PoolOptions) {
    this.queueLimit = options.queueLimit ?? Number.POSITIVE_INFINITY;
    this.queueFull = new Refusal("Request queue full", `${this.queueLimit} requests already wait for a thread (${options.queueLimitName ?? "--queue-limit"})`);
    // As many channels as threads: a request is in a channel only while a thread is free to take it
    // (or about to be), so --threads still bounds the requests in progress and the rest wait here.
    for (let index = 0; index < options.threads; index++) {
      this.slots.push(new WorkerSlot(index, Channel.create(options.dataSize), this.enqueue));
    }
    // acquire() pops: channel 0 goes first.
    this.idle.push(...this.slots.slice().reverse());
    this.runQueue = RunQueue.create(this.slots.length);
    const setupLock = new SharedArrayBuffer(4);
    const channels = this.slots.map((slot) => slot.channel.shared);
    const start = (index: number, thread: Worker) => {
      this.threads.push(thread);
      thread.postMessage({ ...options.init, index, channels, runQueue: this.runQueue.shared, setupLock } satisfies WorkerInit);
    };
    const started = options.started ?? [];
    started.slice(0, options.threads).forEach((thread, index) => start(index, thread));
    // The others one at a time, each once the last one runs (or after a second): started all at once,
    // their start-up (a JavaScript context and koffi each, a few ms of CPU) would take a small
    // machine's cores from the first requests, which the threads started first are serving. A request
    // sent meanwhile waits in the run queue.
    const startNext = (): void => {
      const index = this.threads.length;
      if (index >= options.threads || this.terminated) return;
      start(index, new Worker(options.workerUrl));
      void this.runQueue.startedPast(index, 1000).then(startNext);
    };
    startNext();
  }

  /** The run queue's side of WorkerSlot.sendRequest (bound: every slot is given it). */
  private readonly enqueue = (slot: WorkerSlot): void => {
    const queue = this.runQueue;
    slot.queuedAt = performance.now();
    queue.push(slot.index);
    if (queue.sleeping() === 0) return;
    const awake = queue.awake();
    if (awake < AWAKE_WANTED || this.requestMs * queue.waiting() >= STARVING_MS * awake) queue.wake(1);
    else this.watchStarving();
  };

  /**
   * Wakes sleeping workers for a request queued STARVING_MS: checked on a timer while requests wait
   * with workers asleep, so a queue the workers awake stopped taking from (all blocked) moves on.
   */
  private watchStarving(): void {
    if (this.starvingTimer) return;
    this.starvingTimer = setTimeout(() => {
      this.starvingTimer = null;
      const queue = this.runQueue;
      const oldest = queue.oldest();
      if (oldest < 0 || queue.sleeping() === 0) return;
      // Those woken already and not up yet (a busy machine) are not woken for again.
      const wanted = Math.min(queue.waiting() - queue.woken(), queue.sleeping());
      if (performance.now() - this.slots[oldest]!.queuedAt >= STARVING_MS && wanted > 0) queue.wake(wanted);
      this.watchStarving();
    }, STARVING_MS);
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
    if (slot.queuedAt > 0) {
      this.requestMs += (performance.now() - slot.queuedAt - this.requestMs) / 8;
      slot.queuedAt = 0;
    }
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
    if (this.starvingTimer) clearTimeout(this.starvingTimer);
    for (const thread of this.threads) thread.terminate();
  }
}
