// One client connection: reads request heads and bodies off the socket, serves one request at a
// time (pipelined requests wait their turn in the buffer), writes responses with backpressure, keeps
// the connection alive between requests, and enforces Apache's limits and timeouts.
import type { Socket } from "bun";
import { Outbox } from "./outbox.ts";
import { ERROR_PAGE_TYPE, errorPage } from "../error-page.ts";
import { BLANK_LINES, emptyLinesBefore, findHeadEnd, HttpError, type ParsedHead, parseHead } from "./head-parser.ts";
import { httpDate } from "./http-date.ts";
import { libc } from "../../ffi/libc.ts";
import { BodyProblem, RequestBody, type SocketLender } from "./request-body.ts";
import type { ResponseTarget } from "./response-writer.ts";
import type { ResponseFacts } from "../../log/log-record.ts";
import { nowMicros } from "../site/header-format.ts";
import type { WireServer } from "./wire-server.ts";

/** An unread body still owed by the client is read and dropped after the response up to this; beyond, the connection closes. */
const DISCARD_LIMIT = 1 << 16;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");
/**
 * Apache's lingering close (SECONDS_TO_LINGER, MAX_SECS_TO_LINGER): after our FIN, what the client
 * still sends is read and dropped until its own FIN. Closing with its bytes unread would make the
 * kernel reset the connection, and a client that has not read our last response yet loses it.
 */
const LINGER_IDLE_MS = 2_000;
const LINGER_MOST_MS = 30_000;
/** Bytes of the buffer decoded first when looking for the end of a head: more than almost any head. */
const HEAD_GLANCE = 16 << 10;

/**
 * The start of the buffer as text for the head parser, at most `most` bytes. A glance first: a large
 * body's first read (512 KiB on Bun) comes with its head, and decoding all of it to find a head of a
 * few hundred bytes cost every upload a copy of that size into fresh memory. The head's end found
 * in the glance is the one the whole text would give (its first blank line).
 */
function headText(buffered: Buffer, most: number): string {
  const length = Math.min(buffered.length, most);
  if (length > HEAD_GLANCE) {
    const glance = buffered.toString("latin1", 0, HEAD_GLANCE);
    if (glance.includes("\r\n\r\n")) return glance;
  }
  return buffered.toString("latin1", 0, length);
}

export class Connection implements ResponseTarget, SocketLender {
  /** Bytes received that belong to no request yet: a head in progress, or pipelined requests. */
  private buffered: Buffer | null = null;
  /** The body of the request being served (kept after its response while the rest is dropped). */
  private body: RequestBody | null = null;
  /** The head of the request being served; null between requests. */
  current: ParsedHead | null = null;
  private served = 0;
  /** The bytes of the request head being served (its blank line included): the access log's %I, with the body's. */
  private headLength = 0;
  /** After a framing error mid-request nothing more can be read: close after the response. */
  private broken = false;
  private paused = false;
  /** The client shut its sending side (FIN): answer what it sent in full, then close. */
  private peerDone = false;
  private readonly outbox: Outbox;
  private endWhenFlushed = false;
  /** When our side was shut (the lingering close began); 0 while open. */
  private lingerSince = 0;
  private wroteResponse = false;
  /** Why this connection is refused service (answered 503 when its request arrives); null if it is not. */
  private refusal: string | null = null;
  closed = false;
  /** Timers, checked by the server's sweep: when the connection went idle or began to wait. */
  private idleSince = Date.now();
  private idleLimit: number;
  private headSince = 0;
  private lastData = 0;
  private writeSince = 0;
  /** Closed while idle by a stopping server: no response of its can be lost, so nobody waits for its close. */
  private closedIdle = false;

  /** The body's queue went below its bound: read again (one function for every request's body). */
  private readonly onRoom = () => this.resume();

  constructor(readonly socket: Socket<Connection>, private readonly server: WireServer) {
    this.outbox = new Outbox(socket);
    this.idleLimit = server.limits.headTimeoutMs;
  }

  // Asked of the socket once: each ask is a getpeername() or getsockname() call, and every request asks.
  private remoteAddress: string | undefined;
  private remotePort: number | undefined;
  private ownAddress: string | undefined;

  get peerAddress(): string {
    return (this.remoteAddress ??= this.socket.remoteAddress);
  }

  get peerPort(): number {
    return (this.remotePort ??= this.socket.remotePort);
  }

  get localAddress(): string {
    return (this.ownAddress ??= this.socket.localAddress);
  }

  private sniName: string | null | undefined = undefined;

  /** The name a TLS client sent in its handshake (SNI): null for none; undefined on a plain connection. */
  get serverNameIndication(): string | null | undefined {
    if (this.sniName === undefined && this.server.tls) this.sniName = this.socket.getServername() || null;
    return this.sniName;
  }

  /** %k: the requests this connection served before the current one. */
  get keepAlives(): number {
    return Math.max(this.served - 1, 0);
  }

  /** %I: the current request's bytes received, head and body. */
  get requestBytes(): number {
    return this.headLength + (this.body?.wireBytes ?? 0);
  }

  /** %X's X: the client went away before the response was complete. */
  get aborted(): boolean {
    return this.closed;
  }

  refuse(reason: string): void {
    this.refusal = reason;
  }

  /** Socket data. */
  receive(bytes: Buffer): void {
    if (this.closed) return;
    this.lastData = Date.now();
    if (this.broken || this.lingerSince) return; // read and dropped
    if (this.refusal) {
      this.server.noteRefusal(this, this.refusal); // logged once, then summed up: see WireServer
      return this.giveUp(503);
    }
    const body = this.body;
    if (body && !body.ended) {
      const used = body.offer(bytes);
      if (used instanceof HttpError) return this.protocolError(used);
      if (body.full) this.pause();
      if (used === bytes.length) {
        if (body.ended && !this.current) this.afterDiscard();
        return;
      }
      bytes = bytes.subarray(used);
      if (!this.current) this.body = null; // its dropped remainder is complete
    }
    this.buffered = this.buffered ? Buffer.concat([this.buffered, bytes]) : bytes;
    if (this.current) {
      // Pipelined: waits for the response in progress. Bounded: stop reading past one head's worth.
      if (this.buffered.length > this.server.limits.headBytes) this.pause();
      return;
    }
    this.parseNext();
  }

  /** Starts every complete request in the buffer, one at a time (the next once the last is done). */
  private parseNext(): void {
    const limits = this.server.limits;
    while (!this.current && !this.closed && this.buffered) {
      const buffered = this.buffered;
      const blank = emptyLinesBefore(buffered);
      if (blank < 0) return this.protocolError(new HttpError(400, `more than ${BLANK_LINES} empty lines before a request line`));
      if (blank > 0) {
        this.buffered = blank < buffered.length ? buffered.subarray(blank) : null;
        continue;
      }
      const text = headText(buffered, limits.headBytes + 4);
      const end = findHeadEnd(text, limits);
      if (end instanceof HttpError) return this.protocolError(end);
      if (end < 0) {
        if (this.peerDone) break; // a head the client will never finish: dropped
        if (!this.headSince) this.headSince = Date.now();
        this.resume();
        return;
      }
      this.buffered = end < buffered.length ? buffered.subarray(end) : null;
      const head = parseHead(text, end, limits);
      if (head instanceof HttpError) return this.protocolError(head);
      this.headLength = end;
      this.begin(head);
    }
    if (this.current || this.closed) return;
    if (this.peerDone) this.closeWhenFlushed(); // everything the client sent in full is answered
    else this.resume();
  }

  private begin(head: ParsedHead): void {
    this.served++;
    this.current = head;
    this.headSince = 0;
    this.wroteResponse = false;
    const server = this.server;
    const body = new RequestBody(head.contentLength, head.chunked, server.limits,
      head.expectContinue ? () => this.sendContinue() : null);
    body.onRoom = this.onRoom;
    if (server.lendsSockets) body.lender = this;
    this.body = body;
    if (this.buffered && !body.ended) {
      const used = body.offer(this.buffered);
      if (used instanceof HttpError) {
        this.current = null;
        return this.protocolError(used);
      }
      this.buffered = used < this.buffered.length ? this.buffered.subarray(used) : null;
    }
    server.dispatch(this, head, body);
  }

  private sendContinue(): void {
    if (!this.wroteResponse && !this.closed) this.socket.write(CONTINUE);
  }

  /** A request the server cannot read: answer it (unless a response is under way) and close. */
  private protocolError(error: HttpError): void {
    this.server.errorLog.warn(`[client ${this.peerAddress}:${this.peerPort}] ${error.status}: ${error.reason}.`);
    this.giveUp(error.status);
  }

  /** No more requests on this connection: answer `status` (unless a response is under way) and close. */
  private giveUp(status: number): void {
    this.broken = true;
    this.buffered = null;
    this.headSince = 0;
    this.pause(); // until the close: then what still arrives is read and dropped (linger)
    if (this.current) return; // mid-body: the app's read raises (RequestBody failed); closed after its response
    this.current = null;
    this.sendError(status);
    this.closeWhenFlushed();
  }

  /** An error page outside any app, always followed by closing the connection. */
  private sendError(status: number): void {
    const page = errorPage(status);
    const head = `HTTP/1.1 ${status} ${page.reason}\r\nDate: ${httpDate()}\r\nServer: ${this.server.serverSoftware}\r\n` +
      `Content-Length: ${page.body.length}\r\nContent-Type: ${ERROR_PAGE_TYPE}\r\nConnection: close\r\n\r\n`;
    this.write(Buffer.from(head + page.body, "latin1"));
    this.headLength = 0;
    const response: ResponseFacts = {
      started: nowMicros(), headBytes: head.length, fields: [String(status), "Content-Type", ERROR_PAGE_TYPE], handler: null, label: null,
    };
    this.server.logAccess(this, null, "-", status, page.body.length, response, false);
  }

  // ResponseTarget: what the response writer uses.

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.wroteResponse = true;
    if (this.outbox.write(bytes)) return true;
    if (!this.writeSince) this.writeSince = Date.now();
    return false;
  }

  drained(): Promise<boolean> {
    return this.outbox.drained(this.closed);
  }

  keepAliveWanted(): boolean {
    const head = this.current;
    const limits = this.server.limits;
    if (!head || !head.keepAlive || this.broken || this.server.draining) return false;
    if (limits.maxKeepAliveRequests > 0 && this.served >= limits.maxKeepAliveRequests) return false;
    const body = this.body;
    return !body || body.ended || (body.problem !== BodyProblem.TooLarge && body.outstanding <= DISCARD_LIMIT);
  }

  finished(status: number, bytes: number, keepAlive: boolean, response?: ResponseFacts): void {
    this.body?.settle(); // a body the worker read itself: the socket comes back, its count with it
    const head = this.current;
    if (!head) return;
    this.server.logAccess(this, head, `${head.method} ${head.target} ${head.protocol}`, status, bytes, response, keepAlive);
    this.current = null;
    if (!keepAlive || this.closed || this.broken) return this.closeWhenFlushed();
    if (this.peerDone && this.body && !this.body.ended) return this.closeWhenFlushed(); // its rest will never come
    this.idleSince = Date.now();
    this.idleLimit = this.server.limits.keepAliveTimeoutMs;
    const body = this.body;
    if (body && !body.ended) body.discard(); // its remainder is read and dropped, then the next request
    else this.body = null;
    // Next pipelined request, once the exchange has given its worker back (it does so right after this).
    queueMicrotask(() => {
      if (this.body && !this.body.ended) this.resume();
      else this.parseNext();
    });
  }

  cut(): void {
    this.closeWhenFlushed();
  }

  // SocketLender: a large request body read by the worker itself.

  hold(): boolean {
    const fd = (this.socket as { fd?: unknown }).fd;
    if (this.closed || this.broken || this.lingerSince || typeof fd !== "number" || fd < 0) return false;
    this.pause(); // until giveBack(): the body is held meanwhile (see lent)
    return true;
  }

  lend(): number {
    if (this.closed) return -1;
    // A duplicate: if the socket closes meanwhile, its number cannot be reused under the worker.
    return libc().duplicate((this.socket as unknown as { fd: number }).fd);
  }

  giveBack(gone: boolean): void {
    this.lastData = Date.now(); // Timeout for the body's dropped rest counts from here
    if (gone) this.broken = true;
    if (this.lingerSince) {
      this.readToDrop(); // a close began meanwhile: what still arrives is read and dropped
    } else if (this.body && !this.body.ended) {
      this.resume(); // the rest is read here: by the app (no duplicate could be made), or dropped
    }
  }

  // Socket events.

  drain(): void {
    if (!this.outbox.flush()) {
      this.writeSince = Date.now(); // it moves: the write timeout counts from here
      return;
    }
    this.writeSince = 0;
    if (this.endWhenFlushed) this.linger();
  }

  /**
   * The client shut its sending side (FIN; `printf ... | nc -N` does): as Apache, the requests it
   * sent in full are still answered, then the connection closes. A body cut short fails the app's read.
   */
  peerEnded(): void {
    if (this.closed) return;
    if (this.lingerSince) {
      this.socket.end(); // the FIN a lingering close waits for
      return;
    }
    this.peerDone = true;
    const body = this.body;
    if (body && !body.ended) body.fail(BodyProblem.Gone);
    if (!this.current) {
      if (body && !body.ended) this.closeWhenFlushed(); // only the dropped rest of a body was awaited
      else this.parseNext();
    }
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.body?.fail(BodyProblem.Gone);
    this.outbox.close();
  }

  /** The dropped remainder of a body arrived in full: go on with whatever follows it. */
  private afterDiscard(): void {
    this.body = null;
    this.parseNext();
  }

  private closeWhenFlushed(): void {
    if (this.closed) return;
    if (this.outbox.empty) this.linger();
    else this.endWhenFlushed = true;
  }

  /** Our FIN, then what the client still sends is dropped until its FIN or the sweep's limits (LINGER_*). */
  private linger(): void {
    if (this.lingerSince || this.closed) return;
    this.lingerSince = Date.now();
    if (this.peerDone) this.socket.end(); // its FIN came already: nothing is left to read
    else this.socket.shutdown();
    if (!this.lent) this.readToDrop();
  }

  /** The socket is held for a worker reading the request body (RequestBody.hold): it stays paused. */
  private get lent(): boolean {
    return this.body?.held === true;
  }

  /** Closing: read again (even a broken connection), to drop what the client still sends. */
  private readToDrop(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused || this.broken || this.lent) return;
    this.paused = false;
    this.socket.resume();
  }

  /**
   * A server stopping gracefully: closes the connection if it has been idle (no request, no head
   * begun) for `idleMs` by `now`; false if it has not.
   */
  closeIfIdle(idleMs: number, now: number): boolean {
    if (this.current || this.headSince || now - Math.max(this.idleSince, this.lastData) < idleMs) return false;
    this.closedIdle = true;
    this.closeWhenFlushed();
    return true;
  }

  /** A stopping server waits for this one: it serves a request, or closes after one (see WireServer.stopAccepting). */
  get drainWaits(): boolean {
    return !this.closedIdle;
  }

  /** The server's sweep: enforce KeepAliveTimeout, the head's deadline and Timeout on reads and writes. */
  checkTimers(now: number): void {
    if (this.closed) return;
    if (this.lingerSince) {
      if (now - Math.max(this.lingerSince, this.lastData) > LINGER_IDLE_MS || now - this.lingerSince > LINGER_MOST_MS) this.socket.terminate();
      return;
    }
    const limits = this.server.limits;
    if (!this.current) {
      if (this.headSince && now - this.headSince > limits.headTimeoutMs) {
        this.buffered = null;
        this.protocolError(new HttpError(408, "timed out waiting for the request head"));
      } else if (!this.headSince && !this.body && now - this.idleSince > this.idleLimit) {
        this.closeWhenFlushed(); // an idle keep-alive connection: closed without a word, as Apache does
      } else if (this.body && now - this.lastData > limits.timeoutMs) {
        this.socket.end(); // the client stopped sending the body nobody reads any more
      }
      return;
    }
    const body = this.body;
    if (body && body.waitingSince && now - Math.max(body.waitingSince, this.lastData) > limits.timeoutMs) {
      this.server.errorLog.warn(`[client ${this.peerAddress}:${this.peerPort}] Timeout (${limits.timeoutMs / 1000} s) reading the request body.`);
      this.broken = true;
      body.fail(BodyProblem.Gone);
    }
    if (this.writeSince && now - this.writeSince > limits.timeoutMs) {
      this.server.errorLog.warn(`[client ${this.peerAddress}:${this.peerPort}] Timeout (${limits.timeoutMs / 1000} s) writing the response: connection closed.`);
      this.socket.terminate();
      this.onClose();
    }
  }
}
