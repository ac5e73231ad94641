// The in-process front, beside the wire one (wire/): a web-standard Request answered with a Response
// through the same dispatch (app.ts) and WSGI exchange, with no socket. The request body is read
// from request.body as the app reads wsgi.input; the response body is a ReadableStream the worker
// fills only as fast as the consumer pulls (backpressure, as a slow client gets on the wire).
import type { App, Peer } from "./app.ts";
import { errorPage, ERROR_PAGE_TYPE, type PageDetail } from "./error-page.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { logItem } from "../log/log-item.ts";
import type { ParsedHead } from "./wire/head-parser.ts";
import { BodyProblem } from "./wire/request-body.ts";
import type { BodySource, ResponseSink } from "./wsgi-exchange.ts";

/** Response bytes the stream holds before the worker waits for the consumer (as the wire's socket buffer). */
const RESPONSE_HIGH_WATER = 1 << 16;
/** A body without Content-Length is read ahead up to this: if it ends there, the app gets its length. */
const READ_AHEAD = 1 << 20;

/** request.body as the app's wsgi.input. */
export class FetchBody implements BodySource {
  private pending: Uint8Array | null;
  private received: number;

  private constructor(
    private reader: ReadableStreamDefaultReader<Uint8Array> | null,
    first: Uint8Array | null,
    private readonly limit: number,
  ) {
    this.pending = first && first.length ? first : null;
    this.received = first?.length ?? 0;
  }

  /**
   * The body, and the length the app is told. A body of unknown length is read ahead up to
   * READ_AHEAD: most are whole by then and get their CONTENT_LENGTH (Django, for one, reads no body
   * without it); a longer one streams on with none (wsgi.input_terminated).
   */
  static async open(request: Request, limit: number): Promise<{ body: FetchBody; contentLength: number; chunked: boolean }> {
    const declared = request.headers.get("content-length");
    if (!request.body) return { body: new FetchBody(null, null, limit), contentLength: -1, chunked: false };
    const reader = request.body.getReader();
    if (declared !== null && /^\d+$/.test(declared)) {
      return { body: new FetchBody(reader, null, limit), contentLength: Number(declared), chunked: false };
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const read = await reader.read();
      if (read.done) {
        return { body: new FetchBody(null, concat(parts, size), limit), contentLength: size, chunked: false };
      }
      parts.push(read.value);
      size += read.value.length;
      if (size >= READ_AHEAD) return { body: new FetchBody(reader, concat(parts, size), limit), contentLength: -1, chunked: true };
    }
  }

  async readInto(into: Uint8Array): Promise<number | null | BodyProblem> {
    while (!this.pending) {
      if (!this.reader) return null;
      let chunk: Uint8Array;
      try {
        const read = await this.reader.read();
        if (read.done) {
          this.reader = null;
          return null;
        }
        chunk = read.value;
      } catch {
        this.reader = null;
        return BodyProblem.Gone;
      }
      this.received += chunk.length;
      if (this.limit && this.received > this.limit) return BodyProblem.TooLarge;
      if (chunk.length) this.pending = chunk;
    }
    const pending = this.pending;
    const count = Math.min(into.length, pending.length);
    into.set(pending.subarray(0, count));
    this.pending = count < pending.length ? pending.subarray(count) : null;
    return count;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The requester, for the access log and REMOTE_ADDR; the response settles `respond`. */
class FetchPeer implements Peer {
  settled = false;
  constructor(
    readonly peerAddress: string,
    readonly peerPort: number,
    private readonly head: ParsedHead,
    private readonly app: App,
    private readonly respond: (response: Response) => void,
  ) {}

  answer(response: Response): void {
    if (this.settled) return;
    this.settled = true;
    this.respond(response);
  }

  cut(): void {
    this.answer(errorResponse(500, false));
  }

  finished(status: number, bytes: number): void {
    this.app.logAccess(this, this.head, `${this.head.method} ${this.head.target} ${this.head.protocol}`, status, bytes);
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function errorResponse(status: number, isHead: boolean, detail?: PageDetail): Response {
  const page = errorPage(status, detail);
  return new Response(isHead ? null : page.body, { status, statusText: page.reason, headers: { "content-type": ERROR_PAGE_TYPE } });
}

/** The WSGI response as a web Response. Byte arrays from the channel are copied before returning. */
class FetchSink implements ResponseSink {
  status = 0;
  readonly framesChunks = false;
  handler: string | null = null;
  private bytes = 0;
  /** The app's Content-Length, honoured as on the wire: extra bytes cut, a short body an error. */
  private declared = -1;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private wake: (() => void) | null = null;
  private cancelled = false;

  /** errorLog: the server's; a WSGI request's host's once its route is found (app.ts). */
  constructor(private readonly peer: FetchPeer, private readonly isHead: boolean, public errorLog: ErrorLog, private readonly label: string) {}

  complete(head: string, body: Uint8Array): void {
    const init = this.init(head);
    if (!init) return;
    let payload = this.bodyless() ? null : body;
    if (payload && this.declared >= 0 && payload.length !== this.declared) {
      if (payload.length > this.declared) payload = payload.subarray(0, this.declared);
      else this.errorLog.error(`${logItem(this.label)}: the response body ended after ${payload.length} bytes, short of its Content-Length of ${this.declared}.`);
    }
    this.bytes = payload?.length ?? 0;
    this.peer.answer(new Response(payload ? payload.slice() : null, init));
    this.peer.finished(this.status, this.bytes);
  }

  start(head: string, first: Uint8Array): boolean | Promise<boolean> {
    const init = this.init(head);
    if (!init) return false;
    if (this.bodyless()) {
      this.peer.answer(new Response(null, init));
      return true; // iterate on and send nothing, as on the wire
    }
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      pull: () => this.resume(),
      cancel: () => {
        this.cancelled = true;
        this.resume();
      },
    }, { highWaterMark: RESPONSE_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 });
    this.peer.answer(new Response(stream, init));
    return this.send(first);
  }

  send(chunk: Uint8Array): boolean | Promise<boolean> {
    if (this.cancelled) return false;
    const controller = this.controller;
    if (!controller || chunk.length === 0) return true;
    let take = chunk;
    if (this.declared >= 0 && this.bytes + chunk.length > this.declared) take = chunk.subarray(0, this.declared - this.bytes);
    if (take.length) controller.enqueue(take.slice());
    this.bytes += take.length;
    if (take.length < chunk.length) {
      this.errorLog.error(`${logItem(this.label)}: the application returned more than its Content-Length of ${this.declared} bytes: the rest was not sent.`);
      return false;
    }
    if ((controller.desiredSize ?? 1) > 0) return true;
    return new Promise((resolve) => {
      this.wake = () => resolve(!this.cancelled);
    });
  }

  end(): void {
    if (this.controller && !this.cancelled) {
      if (this.declared >= 0 && this.bytes < this.declared) {
        this.errorLog.error(`${logItem(this.label)}: the response body ended after ${this.bytes} bytes, short of its Content-Length of ${this.declared}.`);
        this.controller.error(new Error(`the response body ended short of its Content-Length (${this.bytes} of ${this.declared} bytes)`));
      } else this.controller.close();
    }
    this.peer.finished(this.status, this.bytes);
  }

  abort(): void {
    if (this.controller && !this.cancelled) {
      this.controller.error(new Error("the application failed after its response had started (see the error log)"));
    }
    this.peer.answer(errorResponse(500, this.isHead)); // when it failed before anything was answered
    this.peer.finished(this.status, this.bytes);
  }

  fail(status: number, detail?: PageDetail): void {
    this.status = status;
    this.peer.answer(errorResponse(status, this.isHead, detail));
    this.peer.finished(status, 0);
  }

  private resume(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private bodyless(): boolean {
    return this.isHead || NULL_BODY.has(this.status);
  }

  /** The status and headers ("200 OK\0Name\0value..."); null (and a 500) for a status a Response cannot carry. */
  private init(head: string): ResponseInit | null {
    const fields = head.split("\0");
    const statusLine = fields[0]!;
    const status = parseInt(statusLine, 10);
    if (!(status >= 200 && status <= 599)) {
      this.errorLog.error(`${logItem(this.label)}: status '${statusLine}' cannot be answered through fetch(): 500 instead.`);
      this.fail(500);
      return null;
    }
    this.status = status;
    const headers = new Headers();
    for (let i = 1; i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      if (name.length === 14 && name.toLowerCase() === "content-length" && /^\d+$/.test(fields[i + 1]!)) this.declared = Number(fields[i + 1]);
      headers.append(name, fields[i + 1]!);
    }
    return { status, statusText: statusLine.slice(statusLine.indexOf(" ") + 1), headers };
  }
}

export interface FetchOptions {
  /** LimitRequestBody for bodies of undeclared length (declared ones are checked by the dispatch). */
  limitRequestBody: number;
  /** REMOTE_ADDR (default 127.0.0.1: the caller is this process). */
  remoteAddress?: string;
  errorLog: ErrorLog;
}

/** Answers `request` through `app`; resolves as soon as the response head is known (its body may stream on). */
export async function answerFetch(app: App, request: Request, options: FetchOptions): Promise<Response> {
  const url = new URL(request.url);
  const { body, contentLength, chunked } = await FetchBody.open(request, options.limitRequestBody);
  const headers: string[] = [];
  let host: string | null = null;
  request.headers.forEach((value, name) => {
    if (name === "host") host = value;
    headers.push(name, value);
  });
  if (host === null) {
    // The URL names the host a browser would have sent (HTTP_HOST, SERVER_NAME).
    host = url.host;
    headers.push("host", host);
  }
  if (chunked) headers.push("transfer-encoding", "chunked");
  else if (contentLength >= 0 && request.headers.get("content-length") === null) headers.push("content-length", String(contentLength));
  const head: ParsedHead = {
    method: request.method,
    target: `${url.pathname}${url.search}`,
    protocol: "HTTP/1.1",
    headers,
    contentLength,
    chunked,
    host,
    keepAlive: false,
    expectContinue: false,
  };
  return new Promise<Response>((resolve) => {
    const peer = new FetchPeer(options.remoteAddress ?? "127.0.0.1", 0, head, app, resolve);
    void app.dispatchTo(peer, head, body, (p, isHead, _http10, label) => new FetchSink(p, isHead, options.errorLog, label)).then(() => {
      // Whatever happened, the caller gets an answer.
      if (!peer.settled) peer.answer(errorResponse(500, head.method === "HEAD"));
    });
  });
}
