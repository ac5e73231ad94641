// What a worker publishes in its channel about the request it is running, so the --request-timeout
// watchdog (pool/watchdog.ts) can find overdue requests without asking the worker or the HTTP thread.
// The worker writes BUSY only while it holds the GIL, and the watchdog re-reads it under the GIL
// before it interrupts: so a request cannot end (or the next one start) between the watchdog's
// decision and its PyThreadState_SetAsyncExc.
import { BUSY, BUSY_SINCE, type Channel, INTERPRETER, SEQ_TO_MAIN, SEQ_TO_WORKER, THREAD_IDENT, TIMED_OUT, UNTIMED } from "./channel.ts";
import type { Ptr } from "../ffi/libpython.ts";

export interface BusyRequest {
  serial: number;
  since: number;
  interpreter: Ptr;
  threadIdent: number;
  /** The watchdog has raised RequestTimeout in it already. */
  timedOut: boolean;
  /** Exempt from --request-timeout: a WSGIImportScript load. */
  untimed: boolean;
}

export class BusyState {
  private readonly control: Int32Array;
  private readonly wide: Float64Array;

  constructor(channel: Channel) {
    this.control = channel.control;
    this.wide = channel.wide;
  }

  /** Worker, GIL held: a request starts in `interpreter`. */
  begin(serial: number, interpreter: Ptr, threadIdent: number, untimed: boolean): void {
    this.wide[BUSY_SINCE] = Date.now();
    this.wide[INTERPRETER] = interpreter;
    this.wide[THREAD_IDENT] = threadIdent;
    this.control[UNTIMED] = untimed ? 1 : 0;
    Atomics.store(this.control, BUSY, serial); // after the fields: a reader that sees the serial sees them
  }

  /** Worker, GIL held: the request is over. True when the watchdog interrupted it. */
  end(): boolean {
    const serial = Atomics.exchange(this.control, BUSY, 0);
    return Atomics.load(this.control, TIMED_OUT) === serial;
  }

  /** Any thread: the request in progress, or null when idle. */
  read(): BusyRequest | null {
    const serial = Atomics.load(this.control, BUSY);
    if (serial === 0) return null;
    return {
      serial,
      since: this.wide[BUSY_SINCE]!,
      interpreter: this.wide[INTERPRETER]!,
      threadIdent: this.wide[THREAD_IDENT]!,
      timedOut: Atomics.load(this.control, TIMED_OUT) === serial,
      untimed: this.control[UNTIMED] === 1,
    };
  }

  /**
   * Any thread: whether it is the worker's turn, a message received and not answered yet (it runs
   * Python, waits for the GIL, or is in C), and if so that turn's name (SEQ_TO_MAIN), else null. The
   * channel is a ping-pong the HTTP thread opens, so the worker's turn is one message more received
   * than sent. Exact on the HTTP thread (SEQ_TO_WORKER only moves there), a moment's view elsewhere.
   */
  turn(): number | null {
    const toMain = Atomics.load(this.control, SEQ_TO_MAIN);
    return ((Atomics.load(this.control, SEQ_TO_WORKER) - toMain) | 0) === 1 ? toMain : null;
  }

  /** Any thread: the interpreter of the request in progress or, between requests, of the last one (0: none yet). */
  lastInterpreter(): Ptr {
    return this.wide[INTERPRETER]!;
  }

  /** Watchdog, GIL held: whether `serial` is still running (it cannot change while the GIL is held). */
  stillRunning(serial: number): boolean {
    return Atomics.load(this.control, BUSY) === serial;
  }

  /** Watchdog, GIL held: marks `serial` interrupted, so it is interrupted once only. */
  markTimedOut(serial: number): void {
    Atomics.store(this.control, TIMED_OUT, serial);
  }
}
