// One request's conversation with the worker running it: feed the request body when the app reads
// it, turn the response messages into a web-standard Response (whole, or streamed with backpressure:
// the worker produces its next chunk only when the client has taken the last one), and give the
// worker back to the pool when the app is done.
import { ToMain, ToWorker } from "../pool/channel.ts";
import type { Pool, WorkerSlot } from "../pool/pool.ts";
import { errorResponse } from "./error-page.ts";

export type Finished = (status: number, bytes: number) => void;

/** Body reply flags (ARG of ToWorker.Body), twinned in adapter.py's Input. */
const BODY_END = 1;
const BODY_TOO_LARGE = 2;

export class WsgiExchange {
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private pending: Uint8Array | null = null;
  private pendingOffset = 0;
  private bodyDone = false;
  private bodyReceived = 0;
  private status = 0;
  private bytes = 0;

  constructor(
    private readonly pool: Pool,
    private readonly slot: WorkerSlot,
    private readonly body: ReadableStream<Uint8Array> | null,
    private readonly finished: Finished,
    /** LimitRequestBody; 0 is no limit. Declared lengths were checked before the app ran. */
    private readonly bodyLimit = 0,
  ) {}

  /** Runs until the response head is known. The request head is already in the channel. */
  async response(headLength: number): Promise<Response> {
    this.slot.send(ToWorker.Request, headLength);
    for (;;) {
      const kind = await this.slot.receive();
      switch (kind) {
        case ToMain.NeedBody:
          await this.sendBody();
          continue;
        case ToMain.Complete:
          return this.complete();
        case ToMain.Head:
          return this.streamed();
        default: // Error, or an Abort/End before any head: the app produced no response.
          return this.failed(kind === ToMain.Error ? this.slot.channel.arg() : 500);
      }
    }
  }

  private complete(): Response {
    const channel = this.slot.channel;
    const headLength = channel.arg();
    const init = this.head(headLength);
    const body = channel.data.slice(headLength, channel.length());
    this.done(body.length);
    return new Response(body, init);
  }

  private failed(status: number): Response {
    this.status = status;
    this.done(0);
    return errorResponse(status);
  }

  private streamed(): Response {
    const channel = this.slot.channel;
    const headLength = channel.arg();
    const init = this.head(headLength);
    const first = channel.data.slice(headLength, channel.length());
    let replyOwed = true; // the worker waits for our answer to its last message
    let finished = false;
    let cancelled = false;
    const finish = () => {
      finished = true;
      this.done(this.bytes);
    };
    // The client went away. Tell the app (its write raises, its close() runs), then wait for it.
    const abandon = async () => {
      this.slot.send(ToWorker.Cancel);
      for (;;) {
        const kind = await this.slot.receive();
        if (kind === ToMain.Complete || kind === ToMain.End || kind === ToMain.Abort || kind === ToMain.Error) break;
        this.slot.send(ToWorker.Cancel);
      }
      finish();
    };
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        if (first.length) {
          this.bytes += first.length;
          controller.enqueue(first);
        }
      },
      pull: async (controller) => {
        if (finished) return;
        this.slot.send(ToWorker.Continue);
        replyOwed = false;
        for (;;) {
          const kind = await this.slot.receive();
          if (kind === ToMain.NeedBody) {
            await this.sendBody();
            continue;
          }
          if (kind === ToMain.Chunk) {
            replyOwed = true;
            // Cancelled while this pull waited: nobody will pull again, so answer the worker here.
            if (cancelled) return abandon();
            const chunk = channel.data.slice(0, channel.length());
            this.bytes += chunk.length;
            controller.enqueue(chunk);
          } else if (kind === ToMain.End) {
            finish();
            if (!cancelled) controller.close();
          } else {
            // Abort or Error after the head: the body is incomplete and the client must see that.
            finish();
            if (!cancelled) controller.error(new Error("the WSGI application failed after the response started"));
          }
          return;
        }
      },
      cancel: async () => {
        cancelled = true;
        // A pull still waiting for the worker's message answers it once it arrives (see pull).
        if (finished || !replyOwed) return;
        await abandon();
      },
    }, { highWaterMark: 0 });
    return new Response(stream, init);
  }

  /** Decodes "status\0name\0value..." from the channel. */
  private head(length: number): ResponseInit {
    const fields = this.slot.channel.buffer.toString("latin1", 0, length).split("\0");
    const status = fields[0]!;
    const headers = new Headers();
    for (let i = 1; i + 1 < fields.length; i += 2) headers.append(fields[i]!, fields[i + 1]!);
    this.status = parseInt(status, 10);
    return { status: this.status, statusText: status.slice(4), headers };
  }

  /** Answers NeedBody with the next bytes of the request body (ARG = 1 once it has ended). */
  private async sendBody(): Promise<void> {
    const channel = this.slot.channel;
    const most = Math.min(channel.arg() || channel.dataSize, channel.dataSize);
    while (!this.bodyDone && (!this.pending || this.pendingOffset >= this.pending.length)) {
      if (!this.body) {
        this.bodyDone = true;
        break;
      }
      this.reader ??= this.body.getReader();
      try {
        const { done, value } = await this.reader.read();
        if (done) this.bodyDone = true;
        else {
          this.bodyReceived += value.length;
          if (this.bodyLimit && this.bodyReceived > this.bodyLimit) {
            // A chunked body crossed LimitRequestBody: the app's read raises, it answers 413.
            this.bodyDone = true;
            this.pending = null;
            this.slot.send(ToWorker.Body, 0, BODY_TOO_LARGE);
            return;
          }
          this.pending = value;
          this.pendingOffset = 0;
        }
      } catch {
        this.bodyDone = true; // the client went away mid-body: the app sees a short read
      }
    }
    let length = 0;
    if (this.pending && this.pendingOffset < this.pending.length) {
      length = Math.min(most, this.pending.length - this.pendingOffset);
      channel.data.set(this.pending.subarray(this.pendingOffset, this.pendingOffset + length));
      this.pendingOffset += length;
    }
    this.slot.send(ToWorker.Body, length, this.bodyDone && length === 0 ? BODY_END : 0);
  }

  private done(bytes: number): void {
    this.pool.release(this.slot);
    this.finished(this.status, bytes);
  }
}
