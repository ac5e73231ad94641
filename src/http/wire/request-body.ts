// One request's body between the socket and the app: the connection offers bytes as they arrive,
// the WSGI exchange takes them as the app reads. Bytes queue only up to a bound; past it the
// connection stops reading the socket until the app has taken some (backpressure both ways).
// The rest of a large body can instead be lent to the worker to read from the socket itself (handOver).
import { closeSync } from "node:fs";
import { ChunkedDecoder } from "./chunked-decoder.ts";
import { noteGarbage } from "./garbage.ts";
import { HttpError } from "./head-parser.ts";
import type { WireLimits } from "./limits.ts";

/**
 * Why a body read cannot give bytes. Negative: readInto() returns a byte count or one of these in the
 * same number, so no count may look like a problem (1 and 2 once did: a 1-byte piece was a 413).
 */
export const enum BodyProblem {
  /** A body of undeclared length crossed LimitRequestBody. */
  TooLarge = -1,
  /** The client went away, timed out, or broke the chunked framing. */
  Gone = -2,
}

/** Queue at most this much unread body before the socket is paused. */
export const BODY_HIGH_WATER = 1 << 20;

/** A declared body with at least this much still to come is read by the worker itself (see handOver). */
export const DIRECT_MIN = 1 << 18;

/** What handOver gives the worker: the socket to read, Timeout, and the queued bytes put in `into` first. */
export interface Lent {
  fd: number;
  timeoutMs: number;
  count: number;
}

/** The connection's side of a body the worker reads from the socket itself. */
export interface SocketLender {
  /** Stops reading the socket until giveBack(); false when it cannot be lent now. */
  hold(): boolean;
  /** A duplicate of the held socket's descriptor for the worker to read (the body closes it); -1 on failure. */
  lend(): number;
  /** The worker is done with the socket (`gone`: it found the client gone or timed out). */
  giveBack(gone: boolean): void;
}

/** What the worker reports while it reads a lent socket (words of its channel). */
export interface DirectProgress {
  /** Body bytes it has read from the socket so far. */
  taken(): number;
  /** It found the client gone, or waited longer than Timeout. */
  gone(): boolean;
}

export class RequestBody {
  /** Bytes received but not yet taken by the app. */
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private remaining: number;
  private readonly timeoutMs: number;
  private readonly decoder: ChunkedDecoder | null;
  private waiter: (() => void) | null = null;
  /** The whole body has arrived. */
  ended: boolean;
  problem: BodyProblem | 0 = 0;
  received = 0;
  /** The body's bytes as they came over the wire (a chunked one's framing too): the access log's %I. */
  wireBytes = 0;
  /** The app's response is done: bytes still arriving are read and dropped. */
  discarding = false;
  /** When a read began waiting for bytes (0: none waits); the connection's Timeout counts from it. */
  waitingSince = 0;
  /** Runs when the app has taken bytes and the queue is below its bound again (resume the socket). */
  onRoom: (() => void) | null = null;
  /** Set by the connection when its socket can be read by a worker (a plain socket, on Bun). */
  lender: SocketLender | null = null;
  /** The socket is held for the worker to read the rest of the body (see hold): the connection must not read it. */
  held = false;
  /**
   * LimitRequestBody for a chunked body: the route's, once the request is routed (limitTo); none
   * before, so that bytes arriving with the head are not held to another route's limit.
   */
  private limit = 0;
  /** While the worker reads the socket itself: what it has read (see handOver and settle). */
  private lent: DirectProgress | null = null;
  /** The duplicate descriptor the worker reads; this thread closes it (settle). */
  private lentFd = -1;

  constructor(
    contentLength: number,
    chunked: boolean,
    limits: WireLimits,
    /** Runs on the first read, before waiting: `Expect: 100-continue` is answered there. */
    private onFirstRead: (() => void) | null,
  ) {
    this.timeoutMs = limits.timeoutMs;
    this.decoder = chunked ? new ChunkedDecoder(limits) : null;
    this.remaining = chunked ? Infinity : Math.max(contentLength, 0);
    this.ended = !chunked && this.remaining === 0;
  }

  /** The unread bytes are over the high-water mark: stop reading the socket. */
  get full(): boolean {
    return this.queued >= BODY_HIGH_WATER;
  }

  /**
   * The bytes the client still owes (Infinity for chunked); while lent, as far as the worker has read
   * (Infinity once it found the client gone: what is left will never come).
   */
  get outstanding(): number {
    if (this.ended) return 0;
    if (!this.lent) return this.remaining;
    return this.lent.gone() ? Infinity : this.remaining - this.lent.taken();
  }

  /** Could the rest of this body be read by the worker from the socket (see handOver)? */
  private get lendable(): boolean {
    return this.lender !== null && !this.decoder && !this.ended && !this.problem && !this.discarding && this.remaining >= DIRECT_MIN;
  }

  /**
   * A worker is about to run the app. A body of more than BODY_HIGH_WATER still to come will be read
   * by it from the socket itself (handOver), so the socket stops being read here now and only what
   * came with the head goes through the channel. A smaller one is read on as before while the app
   * starts, so that an app that ignores it leaves it whole and the connection open.
   */
  hold(): void {
    if (this.remaining > BODY_HIGH_WATER && this.lendable) this.held = this.lender!.hold();
  }

  /**
   * The app reads the body: the rest of a large declared body is lent to the worker as the socket
   * itself, which it reads into Python with no copy and no round trip on the HTTP thread (as Apache's
   * and uWSGI's request threads read theirs). The bytes queued already go first, into `into` (the
   * channel). Null when the body goes through the channel: chunked, small, more queued than `into`
   * holds (the next read tries again), or no socket to lend.
   */
  handOver(progress: DirectProgress, into: Uint8Array): Lent | null {
    if (this.lent) return null;
    if (!this.held) {
      if (!this.lendable) return null;
      this.held = this.lender!.hold();
      if (!this.held) return null;
    }
    if (this.queued > into.length || this.ended || this.problem) return null;
    this.answerExpect();
    const fd = this.lender!.lend();
    if (fd < 0) {
      this.release(false); // read here after all
      return null;
    }
    this.lent = progress;
    this.lentFd = fd;
    return { fd, timeoutMs: this.timeoutMs, count: this.drainInto(into) };
  }

  /**
   * The worker's request is over (its final message came): count what it read, close the duplicate
   * descriptor, give the socket back.
   */
  settle(): void {
    const lent = this.lent;
    this.lent = null;
    if (lent) {
      closeSync(this.lentFd);
      this.lentFd = -1;
      const taken = lent.taken();
      this.remaining -= taken;
      this.wireBytes += taken;
      if (this.remaining <= 0) this.ended = true;
      if (lent.gone()) this.fail(BodyProblem.Gone);
    }
    if (this.held) this.release(this.problem === BodyProblem.Gone);
  }

  private release(gone: boolean): void {
    this.held = false;
    this.lender!.giveBack(gone);
  }

  /** `Expect: 100-continue` is answered on the first read, when nothing of the body has come yet. */
  private answerExpect(): void {
    const first = this.onFirstRead;
    if (!first) return;
    this.onFirstRead = null;
    if (!this.ended && this.queued === 0) first();
  }

  /**
   * Connection: bytes arrived. Returns how many belong to this body (the rest starts the next
   * request), or the framing error that ends the connection.
   */
  offer(bytes: Uint8Array): number | HttpError {
    if (this.ended) return 0;
    let used: number;
    if (this.decoder) {
      const result = this.decoder.feed(bytes, (payload) => this.accept(payload));
      if (result instanceof HttpError) {
        this.fail(BodyProblem.Gone);
        return result;
      }
      used = result;
      if (this.decoder.done) this.ended = true;
    } else {
      used = Math.min(bytes.length, this.remaining);
      this.accept(used === bytes.length ? bytes : bytes.subarray(0, used));
      this.remaining -= used;
      if (this.remaining === 0) this.ended = true;
    }
    this.wireBytes += used;
    this.wake();
    return used;
  }

  private accept(payload: Uint8Array): void {
    if (payload.length === 0) return;
    this.received += payload.length;
    noteGarbage(payload.length);
    if (this.discarding) return;
    if (this.decoder && this.limit && this.received > this.limit) {
      this.problem ||= BodyProblem.TooLarge;
      return;
    }
    this.queue.push(payload);
    this.queued += payload.length;
  }

  /** The route's LimitRequestBody (see BodySource.limitTo): what arrived past it already is dropped. */
  limitTo(bytes: number): void {
    this.limit = bytes;
    if (this.decoder && bytes && this.received > bytes && !this.problem) {
      this.problem = BodyProblem.TooLarge;
      this.queue.length = 0;
      this.queued = 0;
      this.wake();
    }
  }

  /** The client went away or timed out: a waiting read, and every later one, gets the problem. */
  fail(problem: BodyProblem): void {
    if (!this.problem) this.problem = problem;
    this.wake();
  }

  /**
   * Exchange: waits until some of the body has arrived (answering `Expect: 100-continue` first), then
   * copies as many queued bytes as fit into `into`: fewer round trips to the worker than one socket
   * read each. Returns the count, null at the end of the body, or the problem that stops it.
   */
  async readInto(into: Uint8Array): Promise<number | null | BodyProblem> {
    this.answerExpect();
    while (this.queued === 0 && !this.ended && !this.problem) {
      this.waitingSince = Date.now();
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waitingSince = 0;
    }
    if (this.queued === 0) return this.problem || null;
    return this.drainInto(into);
  }

  /** Copies as many queued bytes as fit into `into`, without waiting; returns the count. */
  private drainInto(into: Uint8Array): number {
    let filled = 0;
    while (this.queued > 0 && filled < into.length) {
      const piece = this.take(into.length - filled);
      into.set(piece, filled);
      filled += piece.length;
    }
    return filled;
  }

  private take(most: number): Uint8Array {
    const head = this.queue[0]!;
    let taken = head;
    if (head.length <= most) this.queue.shift();
    else {
      this.queue[0] = head.subarray(most);
      taken = head.subarray(0, most);
    }
    this.queued -= taken.length;
    if (this.onRoom && this.queued < BODY_HIGH_WATER / 2) this.onRoom();
    return taken;
  }

  /** The app is done with the body: drop what is queued, and what still arrives. */
  discard(): void {
    this.discarding = true;
    this.queue.length = 0;
    this.queued = 0;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    waiter();
  }
}
