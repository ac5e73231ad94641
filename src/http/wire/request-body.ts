// One request's body between the socket and the app: the connection offers bytes as they arrive,
// the WSGI exchange takes them as the app reads. Bytes queue only up to a bound; past it the
// connection stops reading the socket until the app has taken some (backpressure both ways).
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

export class RequestBody {
  /** Bytes received but not yet taken by the app. */
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  private waiter: (() => void) | null = null;
  /** The whole body has arrived. */
  ended: boolean;
  problem: BodyProblem | 0 = 0;
  received = 0;
  /** The app's response is done: bytes still arriving are read and dropped. */
  discarding = false;
  /** When a read began waiting for bytes (0: none waits); the connection's Timeout counts from it. */
  waitingSince = 0;
  /** Runs when the app has taken bytes and the queue is below its bound again (resume the socket). */
  onRoom: (() => void) | null = null;

  constructor(
    contentLength: number,
    chunked: boolean,
    limits: WireLimits,
    /** LimitRequestBody for chunked bodies (declared lengths are checked before the app runs); 0: none. */
    private readonly limit: number,
    /** Runs on the first read, before waiting: `Expect: 100-continue` is answered there. */
    private onFirstRead: (() => void) | null,
  ) {
    this.decoder = chunked ? new ChunkedDecoder(limits) : null;
    this.remaining = chunked ? Infinity : Math.max(contentLength, 0);
    this.ended = !chunked && this.remaining === 0;
  }

  /** The unread bytes are over the high-water mark: stop reading the socket. */
  get full(): boolean {
    return this.queued >= BODY_HIGH_WATER;
  }

  /** The bytes the client still owes (Infinity for chunked). */
  get outstanding(): number {
    return this.ended ? 0 : this.remaining;
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
    if (this.onFirstRead) {
      const first = this.onFirstRead;
      this.onFirstRead = null;
      if (!this.ended && this.queued === 0) first();
    }
    while (this.queued === 0 && !this.ended && !this.problem) {
      this.waitingSince = Date.now();
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waitingSince = 0;
    }
    if (this.queued === 0) return this.problem || null;
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
