// The run queue: requests the HTTP thread has put in a channel, waiting for any worker thread to take
// them. A worker that finishes a request takes the next one at once, without going to sleep; when
// there is none it sleeps until the HTTP thread wakes it (when, is the pool's rule: pool.ts).
//
// One SharedArrayBuffer of Int32s: a ring of channel indexes between two counters that only grow, the
// HTTP thread's PUSHED and the workers' TAKEN (taken with a compare-and-swap), and the counts the wake
// rule reads. A channel is in the ring at most once and there are as many channels as ring entries at
// most, so the ring never overflows.

const PUSHED = 0; // bumped by the HTTP thread after it writes an entry; sleeping workers wait on it
const TAKEN = 1; // bumped by the worker that takes the oldest entry
const SLEEPING = 2; // workers asleep in take()
const AWAKE = 3; // workers started and not asleep: running a request or about to take one (not away())
const SERIAL = 4; // the last request serial handed out (pool/busy.ts): unique across workers
const STARTED = 5; // workers started, in order (the pool starts the next when this moves)
const WOKEN = 6; // workers woken and not yet up: counted awake by the wake rule already
const FINISHED = 7; // requests the workers finished (mod_wsgi.total_requests), mod 2^32
const RING = 8;

export class RunQueue {
  private readonly words: Int32Array;
  /** The ring's size less one: a power of two's, so an entry is `counter & mask`. */
  private readonly mask: number;

  constructor(readonly shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
    this.mask = this.words.length - RING - 1;
  }

  /** A ring of at least `channels` entries, a power of two: the counters wrap at 2^32 without a jump. */
  static create(channels: number): RunQueue {
    let size = 1;
    while (size < channels) size *= 2;
    return new RunQueue(new SharedArrayBuffer((RING + size) * 4));
  }

  // --- The HTTP thread's side.

  /**
   * Queues channel `index` (its request already sent in it). Wakes nobody: a worker that goes to sleep
   * counts itself in sleeping() before it looks at PUSHED again, so the caller reads sleeping() after
   * this and wakes one if it must.
   */
  push(index: number): void {
    const words = this.words;
    const pushed = words[PUSHED]!;
    words[RING + (pushed & this.mask)] = index;
    Atomics.store(words, PUSHED, (pushed + 1) | 0);
  }

  /** Requests queued and not taken yet. */
  waiting(): number {
    return (Atomics.load(this.words, PUSHED) - Atomics.load(this.words, TAKEN)) | 0;
  }

  /** The channel index of the oldest request not taken yet, or -1. */
  oldest(): number {
    const taken = Atomics.load(this.words, TAKEN);
    return taken === Atomics.load(this.words, PUSHED) ? -1 : this.words[RING + (taken & this.mask)]!;
  }

  sleeping(): number {
    return Atomics.load(this.words, SLEEPING);
  }

  /** Workers started and not asleep (in a request, or about to take one), or woken and not up yet. */
  awake(): number {
    return Atomics.load(this.words, AWAKE) + Atomics.load(this.words, WOKEN);
  }

  /** Workers woken and not up yet. */
  woken(): number {
    return Atomics.load(this.words, WOKEN);
  }

  wake(count: number): void {
    Atomics.add(this.words, WOKEN, Atomics.notify(this.words, PUSHED, count));
  }

  started(): number {
    return Atomics.load(this.words, STARTED);
  }

  /** Resolves once more than `count` workers have started, or after `timeoutMs`. */
  async startedPast(count: number, timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const started = this.started();
      const left = end - performance.now();
      if (started > count || left <= 0) return;
      const wait = Atomics.waitAsync(this.words, STARTED, started, left);
      if (wait.async) await wait.value;
    }
  }

  // --- A worker's side.

  /** The worker runs (its script and koffi are loaded) and counts as awake. */
  announceStarted(): void {
    Atomics.add(this.words, AWAKE, 1);
    Atomics.add(this.words, STARTED, 1);
    Atomics.notify(this.words, STARTED);
  }

  /**
   * The worker waits in the middle of a request, on the HTTP thread or on its client (a streamed
   * response read slowly, a request body still arriving, a file being sent): it will not take a queued
   * request until that ends, so the wake rule must not count on it. Four threads with three slow
   * downloads or uploads served hello at ~1,000 req/s, each request waiting for the 1 ms starving
   * timer (25,000-31,000 without them).
   */
  away(): void {
    Atomics.sub(this.words, AWAKE, 1);
  }

  /** Back from away(): awake again. */
  back(): void {
    Atomics.add(this.words, AWAKE, 1);
  }

  /** Requests finished by every worker of the process so far (to 2^32, then from 0 again). */
  finishedRequests(): number {
    return Atomics.load(this.words, FINISHED) >>> 0;
  }

  /** A request (not an import script) is over. */
  requestFinished(): void {
    Atomics.add(this.words, FINISHED, 1);
  }

  /** A request serial never used by another worker; never 0 (idle). */
  nextSerial(): number {
    const serial = Atomics.add(this.words, SERIAL, 1) + 1;
    return serial & 0x7fffffff || this.nextSerial();
  }

  /** The index of the next channel to serve: the oldest queued, sleeping while there is none. */
  take(): number {
    const words = this.words;
    for (;;) {
      const taken = Atomics.load(words, TAKEN);
      const pushed = Atomics.load(words, PUSHED);
      if (taken !== pushed) {
        const index = words[RING + (taken & this.mask)]!;
        if (Atomics.compareExchange(words, TAKEN, taken, (taken + 1) | 0) === taken) return index;
        continue;
      }
      Atomics.add(words, SLEEPING, 1);
      Atomics.sub(words, AWAKE, 1);
      // Counted asleep before this look: a push after it sees the count and may wake this thread.
      if (Atomics.load(words, PUSHED) === pushed && Atomics.wait(words, PUSHED, pushed) === "ok") Atomics.sub(words, WOKEN, 1);
      Atomics.add(words, AWAKE, 1);
      Atomics.sub(words, SLEEPING, 1);
    }
  }
}
