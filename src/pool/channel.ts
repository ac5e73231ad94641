// The shared-memory channel between the HTTP thread and the worker serving its request (any worker,
// one request at a time: see run-queue.ts): a SharedArrayBuffer with a few
// control words and a data area. Messages are a strict ping-pong: whoever last received a message
// owns the data area until it sends one back, so no locks are needed. One exception, a streamed
// response body: there the data area is a ring of pieces that the worker fills and publishes without
// waiting for an answer while the HTTP thread sends the oldest and gives them back (see "Streaming"
// below and body-ring.ts), so that Python's next pieces and the socket writes of the last overlap.
// src/python/adapter.py reads and writes the same layout through a memoryview, so every constant here
// has its twin there.

/** Control words (Int32 indexes). */
export const SEQ_TO_WORKER = 0; // bumped by the HTTP thread when it sends; the worker waits on it
export const SEQ_TO_MAIN = 1; // bumped by the worker when it sends; the HTTP thread waits on it
export const KIND = 2; // the message kind (below)
export const LENGTH = 3; // bytes of payload in the data area
export const ARG = 4; // a kind-specific number (head length, flags)
// What the worker publishes about the request it runs, for the --request-timeout watchdog (see
// pool/busy.ts). Not read by adapter.py, so they have no twins there.
export const BUSY = 5; // the serial of the request in progress, 0 when idle; written with the GIL held
export const TIMED_OUT = 6; // the serial of the request the watchdog interrupted; written with the GIL held
export const UNTIMED = 7; // 1 while the request in progress is exempt from --request-timeout (an import)
/** Float64 indexes (byte offset / 8) in the same control area: pointers fit, as everywhere (< 2^53). */
export const BUSY_SINCE = 4; // Date.now() when the request started
export const INTERPRETER = 5; // the PyInterpreterState the request runs in
export const THREAD_IDENT = 6; // the worker's threading.get_ident()
/**
 * Float32 indexes in bytes 56 to 63 of the control area: what the worker measured of the request it
 * just finished (pool/request-clock.ts), read by the HTTP thread before the worker goes back to the
 * pool (status/stats.ts). Not read by adapter.py.
 */
export const GIL_WAIT_MS = 14; // ms spent waiting for the GIL
export const APP_MS = 15; // ms in the request, less the waits for the GIL and for the HTTP thread

/**
 * Streaming (after a streamed response's head, until the worker's next message is final): the data
 * area is a ring of pieces of the body, each one contiguous and placed right after the last (or back
 * at the start of the area when it does not fit there). The worker writes piece PUBLISHED % PIECES
 * at START, sets its FILL (bytes) and PAYLOAD (body bytes among them: fewer when the worker framed
 * the piece as an HTTP/1.1 chunk) and bumps PUBLISHED; the HTTP thread sends the oldest unsent ones
 * (those that follow one another in the area in one write) and bumps RELEASED past them. When the
 * next piece has no room the worker sends ToMain.Full and waits; the answer (Continue) comes once
 * half the ring is free, so that it then fills several pieces for one wake-up. Both counters only
 * grow (mod 2^32); PIECES is a power of two.
 */
export const PIECES = 16;
export const PUBLISHED = 16;
export const RELEASED = 17;
/**
 * Bumped by the worker with every message (after SEQ_TO_MAIN) and every published piece: the one
 * word the HTTP thread waits on, for either.
 */
export const EVENTS = 18;
/**
 * A Request's application group as a number (request-head.ts numbers each name once, from 1), so that
 * a worker decodes a name from the head the first time it sees its number only; 0: not numbered.
 * Not read by adapter.py.
 */
export const GROUP = 19;
export const START = 20; // + piece: 20 to 35
export const FILL = 36; // + piece: 36 to 51
export const PAYLOAD = 52; // + piece: 52 to 67
/**
 * A request body read by the worker itself (see RequestBody.handOver): the HTTP thread answers a
 * NeedBody with ARG BODY_DIRECT, a duplicate of the socket's descriptor in DIRECT_FD and Timeout in
 * DIRECT_TIMEOUT_MS; the worker reads the rest of the body from it and keeps DIRECT_TAKEN (bytes read
 * so far: a Float64 index, as bodies pass 2 GiB) and DIRECT_GONE (1: the client went away or timed
 * out) up to date for the HTTP thread.
 */
export const DIRECT_FD = 68;
export const DIRECT_TIMEOUT_MS = 69;
export const DIRECT_GONE = 70;
export const DIRECT_TAKEN = 36; // Float64 index: bytes 288 to 295
/**
 * Float64 indexes written by the worker before it runs a request, for environ's mod_wsgi.total_requests
 * (requests the process finished before it: RunQueue.finished) and mod_wsgi.thread_requests (requests
 * the worker thread ran before it, in any interpreter), as mod_wsgi counts them.
 */
export const TOTAL_REQUESTS = 37; // bytes 296 to 303
export const THREAD_REQUESTS = 38; // bytes 304 to 311

export const DATA_OFFSET = 320;
export const DEFAULT_DATA_SIZE = 1 << 20;

/**
 * ARG of a ToWorker.Request: flags above bit 16, a replica below. REQUEST_IMPORT: a WSGIImportScript
 * load (or the exit functions), which mod_wsgi's request-timeout does not cover. The low 16 bits
 * (REQUEST_REPLICA_MASK): which of a parallel group's interpreters to run in, index + 1 (an import
 * script is loaded into each); 0 lets the worker pick (pool/parallel.ts).
 */
export const REQUEST_IMPORT = 1 << 16;
/** With REQUEST_IMPORT and no script: the interpreter's atexit functions, the process exiting (http/exit-functions.ts). */
export const REQUEST_EXIT = 1 << 17;
/**
 * A WSGIAuthUserScript's check_password or a WSGIAuthGroupScript's groups_for_user, called with the
 * request's environ (http/auth-scripts.ts); the answer is a Complete message's payload. Twinned in adapter.py.
 */
export const REQUEST_AUTH = 1 << 18;
export const REQUEST_REPLICA_MASK = 0xffff;

/** HTTP thread -> worker. */
export const enum ToWorker {
  Request = 1, // payload: the request head, see src/http/request-head.ts; ARG: REQUEST_IMPORT | replica, see above
  Body = 2, // payload: request body bytes; ARG = 1 at the end of the body
  Continue = 3, // the last response message was taken, go on
  Cancel = 4, // the client went away: stop, close the iterable
}

/** Worker -> HTTP thread. */
export const enum ToMain {
  NeedBody = 11, // ARG = the most bytes wanted
  Complete = 12, // the whole response: ARG = head length, payload = head + body; the worker is idle after
  Head = 13, // status and headers, ARG = head length, payload = head + first body bytes; more follows
  End = 15, // the streamed body is complete; the worker is idle after
  Abort = 16, // the app failed after the head was sent: cut the connection; the worker is idle after
  Error = 17, // no response from the app: ARG = the status of the error page to send; the worker is idle after
  File = 18, // wsgi.file_wrapper over a regular file: ARG = head length, payload = head + "fd offset length"; the worker waits for Continue or Cancel
  Full = 19, // streaming: no room for the worker's next piece; it waits for Continue (room was made) or Cancel
}

/** After these the worker is idle: nothing more comes from the request. */
export function isFinal(kind: number): boolean {
  return kind === ToMain.Complete || kind === ToMain.End || kind === ToMain.Abort || kind === ToMain.Error;
}

export class Channel {
  readonly control: Int32Array;
  /** The control area as Float64s (DIRECT_TAKEN). */
  readonly wide: Float64Array;
  readonly data: Uint8Array;
  /** A Buffer view of the data area, for fast latin-1 encoding and decoding. */
  readonly buffer: Buffer;

  constructor(readonly shared: SharedArrayBuffer) {
    this.control = new Int32Array(shared, 0, DATA_OFFSET / 4);
    this.wide = new Float64Array(shared, 0, DATA_OFFSET / 8);
    this.data = new Uint8Array(shared, DATA_OFFSET);
    this.buffer = Buffer.from(shared, DATA_OFFSET);
  }

  static create(dataSize = DEFAULT_DATA_SIZE): Channel {
    return new Channel(new SharedArrayBuffer(DATA_OFFSET + dataSize));
  }

  get dataSize(): number {
    return this.data.length;
  }

  kind(): number {
    return this.control[KIND]!;
  }
  length(): number {
    return this.control[LENGTH]!;
  }
  arg(): number {
    return this.control[ARG]!;
  }

  /** Writes a message header; the payload is already in the data area. Does not notify. */
  setMessage(kind: number, length: number, arg = 0): void {
    this.control[KIND] = kind;
    this.control[LENGTH] = length;
    this.control[ARG] = arg;
  }

  /** HTTP thread: send the message in the data area to the worker. */
  sendToWorker(kind: ToWorker, length = 0, arg = 0): void {
    this.setMessage(kind, length, arg);
    Atomics.add(this.control, SEQ_TO_WORKER, 1);
    Atomics.notify(this.control, SEQ_TO_WORKER);
  }

  /** Worker: hand the data area to the HTTP thread (the message header is already set). */
  notifyMain(): void {
    Atomics.add(this.control, SEQ_TO_MAIN, 1);
    Atomics.add(this.control, EVENTS, 1);
    Atomics.notify(this.control, EVENTS);
  }

  /** Worker, streaming: the piece Python just wrote (START, FILL and PAYLOAD set) goes to the HTTP thread; no answer is awaited. */
  publish(): void {
    Atomics.add(this.control, PUBLISHED, 1);
    Atomics.add(this.control, EVENTS, 1);
    Atomics.notify(this.control, EVENTS);
  }

  /** HTTP thread: the value to wait on (with Atomics.waitAsync) for the worker's next message or piece. */
  events(): number {
    return Atomics.load(this.control, EVENTS);
  }
}
