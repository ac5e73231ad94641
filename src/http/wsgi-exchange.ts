// One request's conversation with the worker running it: feed the request body as the app reads it,
// hand the response to a sink (the socket, see wire/response-writer.ts) and keep backpressure: a
// streamed body goes through a ring of pieces in the channel, the worker writing some while the sink
// takes others, and the worker waits once the ring has no room. The worker goes back to the pool when
// the app is done.
import { read as fsRead } from "node:fs";
import { DIRECT_FD, DIRECT_GONE, DIRECT_TAKEN, DIRECT_TIMEOUT_MS, isFinal, ToMain, ToWorker } from "../pool/channel.ts";
import type { Pool, WorkerSlot } from "../pool/pool.ts";
import type { PageDetail } from "./error-page.ts";
import { BodyProblem, type DirectProgress, type Lent } from "./wire/request-body.ts";

/** Where the request body comes from. */
export interface BodySource {
  /** Fills `into` with what has arrived (waiting for at least a byte): the count, null at the end, or a problem. */
  readInto(into: Uint8Array): Promise<number | null | BodyProblem>;
  /**
   * The rest of the body as the socket, for the worker to read itself, after the queued bytes it puts
   * in `into` (see RequestBody.handOver); null: use readInto.
   */
  handOver?(progress: DirectProgress, into: Uint8Array): Lent | null;
  /** The app is about to run: stop reading a body that handOver will lend. */
  hold?(): void;
  /**
   * LimitRequestBody where the request was routed (0: none), for a body of undeclared length: past
   * it, reads give BodyProblem.TooLarge. Declared lengths are checked before the app runs.
   */
  limitTo?(bytes: number): void;
}

/**
 * Where the response goes. Byte arrays are views of the channel (or of a file's read buffer): they
 * stay as they are until the call returns or, if it returns a promise, until that settles; use or
 * copy them by then.
 */
export interface ResponseSink {
  /** The status sent (0 until a head or error page went out): the status page counts it. */
  readonly status: number;
  /** The whole response at once. `head` is "status\0name\0value...". */
  complete(head: string, body: Uint8Array): void;
  /** The head and first bytes of a streamed response; false when no more body is wanted. */
  start(head: string, first: Uint8Array): boolean | Promise<boolean>;
  /**
   * More body; settles once the client can take more; false when no more is wanted. `framed` is
   * the payload length when the worker framed the chunk itself (see framesChunks), else 0.
   */
  send(chunk: Uint8Array, framed?: number): boolean | Promise<boolean>;
  /** After start(): the body goes out chunked, so the worker may frame its chunks in place. */
  readonly framesChunks: boolean;
  /** The app's body ended. */
  end(): void;
  /** The app failed after the head went out: the client must see an incomplete body. */
  abort(): void;
  /** No response from the app: send the error page for `status` (with what it names: the method...); `close`: end the connection after it whatever the status. */
  fail(status: number, detail?: PageDetail, close?: boolean): void;
}

/** Body reply flags (ARG of ToWorker.Body), twinned in adapter.py's Input. */
const BODY_END = 1;
/** ARG of the Continue after a streamed head: frame chunks in place (twinned in adapter.py). */
const FRAME_CHUNKS = 1;
const BODY_TOO_LARGE = 2;
/** The rest of the body is read by the worker from the socket in DIRECT_FD (see channel.ts). */
const BODY_DIRECT = 4;

/**
 * `method` is the request's (error pages name it); `workerDone` runs once the worker is done, before it
 * goes back to the pool (status/stats.ts reads what it measured).
 */
export async function runExchange(
  pool: Pool, slot: WorkerSlot, headLength: number, body: BodySource, sink: ResponseSink, method: string, workerDone?: (slot: WorkerSlot) => void,
): Promise<void> {
  const channel = slot.channel;
  body.hold?.();
  slot.sendRequest(headLength);
  try {
    let kind = await slot.receive();
    while (kind === ToMain.NeedBody) kind = await feedBody(slot, body);
    if (kind === ToMain.Complete) {
      const length = channel.arg();
      sink.complete(channel.buffer.toString("latin1", 0, length), channel.data.subarray(length, channel.length()));
      return;
    }
    if (kind === ToMain.File) return await sendFile(slot, sink);
    if (kind !== ToMain.Head) return sink.fail(kind === ToMain.Error ? channel.arg() : 500, { method });
    const length = channel.arg();
    const more = await sink.start(channel.buffer.toString("latin1", 0, length), channel.data.subarray(length, channel.length()));
    if (!more) {
      await cancel(slot);
      return sink.end(); // the framing's end (the client may be gone: then it only logs)
    }
    await streamBody(slot, body, sink);
  } finally {
    // Still running only after an error on this thread (logged by the caller as an internal error):
    // stopped as for a client gone, it must not get another request before its last message.
    if (slot.running) await cancel(slot);
    workerDone?.(slot);
    pool.release(slot);
  }
}

/**
 * The body after a streamed head, through the ring of pieces in the channel (see channel.ts): the
 * oldest published pieces go to the sink, in as few writes as they allow, and back to the worker,
 * which meanwhile writes the next. Full is answered as soon as half the ring is free; the other
 * messages (NeedBody, the final one) once every piece published before them is sent.
 */
async function streamBody(slot: WorkerSlot, body: BodySource, sink: ResponseSink): Promise<void> {
  const channel = slot.channel;
  const ring = slot.ring;
  const framed = sink.framesChunks;
  slot.send(ToWorker.Continue, 0, framed ? FRAME_CHUNKS : 0);
  let workerWaits = false; // it sent Full (no room for its next piece) and waits until half the ring is free
  let message = 0; // another message, taken and not answered yet
  const look = () => {
    const kind = slot.poll(); // the pieces published before a message are all seen after this
    if (kind === ToMain.Full) workerWaits = true;
    else if (kind !== 0) message = kind;
    if (workerWaits && ring.halfFree()) {
      workerWaits = false;
      slot.send(ToWorker.Continue);
    }
  };
  for (;;) {
    const events = channel.events(); // before looking: a piece or message after this changes it
    look();
    for (let run = ring.nextRun(); run; run = ring.nextRun()) {
      const more = await sink.send(run.bytes, framed ? run.payload : 0);
      if (!more) {
        await cancel(slot);
        return sink.end(); // as after the head: the client may be gone, then it only logs
      }
      ring.release(run);
      look();
    }
    if (message === 0) await slot.nextEvent(events);
    else if (message === ToMain.NeedBody) {
      message = 0;
      await replyBody(slot, body);
    } else if (message === ToMain.End) return sink.end();
    else return sink.abort(); // Abort or Error after the head
  }
}

const FILE_BLOCK = 1 << 18;

/** wsgi.file_wrapper: the file goes from its descriptor to the socket; the worker waits meanwhile. */
async function sendFile(slot: WorkerSlot, sink: ResponseSink): Promise<void> {
  const channel = slot.channel;
  const headLength = channel.arg();
  const [fd, offset, length] = channel.buffer.toString("latin1", headLength, channel.length()).split(" ").map(Number) as [number, number, number];
  let more = await sink.start(channel.buffer.toString("latin1", 0, headLength), new Uint8Array(0));
  const block = Buffer.allocUnsafe(Math.min(FILE_BLOCK, Math.max(length, 1)));
  for (let position = offset, left = length; more && left > 0;) {
    const read = await new Promise<number>((resolve) => fsRead(fd, block, 0, Math.min(block.length, left), position, (error, bytes) => resolve(error ? 0 : bytes)));
    if (read === 0) break; // the file shrank (or a read failed): the framing tells the client
    position += read;
    left -= read;
    more = await sink.send(block.subarray(0, read));
  }
  slot.send(more ? ToWorker.Continue : ToWorker.Cancel);
  const kind = await slot.receive(); // End once the app's close() ran
  if (kind === ToMain.End || kind === ToMain.Complete) sink.end();
  else sink.abort();
}

/** Answers NeedBody with the next bytes of the request body; returns the worker's next message. */
async function feedBody(slot: WorkerSlot, body: BodySource): Promise<number> {
  await replyBody(slot, body);
  return slot.receive();
}

/** Answers NeedBody: the next bytes of the request body, put in the channel, or the socket itself. */
async function replyBody(slot: WorkerSlot, body: BodySource): Promise<void> {
  const channel = slot.channel;
  const { control, wide } = channel;
  const direct = body.handOver?.(slot.lentBody, channel.data);
  if (direct) {
    control[DIRECT_FD] = direct.fd;
    control[DIRECT_TIMEOUT_MS] = direct.timeoutMs;
    control[DIRECT_GONE] = 0;
    wide[DIRECT_TAKEN] = 0;
    return slot.send(ToWorker.Body, direct.count, BODY_DIRECT); // what came before, then the socket
  }
  const most = Math.min(channel.arg() || channel.dataSize, channel.dataSize);
  const count = await body.readInto(channel.data.subarray(0, most));
  if (count === null) slot.send(ToWorker.Body, 0, BODY_END);
  else if (count === BodyProblem.TooLarge) slot.send(ToWorker.Body, 0, BODY_TOO_LARGE);
  else if (count === BodyProblem.Gone) slot.send(ToWorker.Cancel); // the app's read raises
  else slot.send(ToWorker.Body, count);
}

/**
 * The client went away or wants no more (or this thread failed): tell the app (its write raises, its
 * close() runs) and wait for its final message, unless that came already. The worker waits for an
 * answer when the last message taken from it (Full, NeedBody, Head...) has none yet; otherwise its
 * next message gets one. Pieces it published meanwhile are never sent.
 */
async function cancel(slot: WorkerSlot): Promise<void> {
  if (slot.running) {
    if (slot.answerOwed()) slot.send(ToWorker.Cancel);
    for (;;) {
      const kind = await slot.receive();
      if (isFinal(kind)) break;
      slot.send(ToWorker.Cancel);
    }
  }
  slot.ring.dropUnsent();
}
