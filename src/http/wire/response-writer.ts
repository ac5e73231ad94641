// Writes one WSGI response onto the connection with HTTP/1.1 framing: the app's Content-Length is
// honoured exactly (extra bytes cut, a short body closes the connection), otherwise the length of a
// complete body, chunked encoding for a streamed body on HTTP/1.1, or the end of the connection on
// HTTP/1.0. HEAD, 1xx, 204 and 304 carry no body.
import type { ErrorLog } from "../../log/error-log.ts";
import { logItem } from "../../log/log-item.ts";
import { ERROR_PAGE_TYPE, errorPage, type PageDetail } from "../error-page.ts";
import type { ResponseSink } from "../wsgi-exchange.ts";
import type { ErrorDetour, ErrorDocuments } from "../site/error-documents.ts";
import { noteGarbage } from "./garbage.ts";
import { httpDate } from "./http-date.ts";
import { nowMicros } from "../site/header-format.ts";
import type { ResponseFacts } from "../../log/log-record.ts";

/** What the response writer needs from the connection. */
export interface ResponseTarget {
  readonly closed: boolean;
  /**
   * Writes bytes; true if all went out. What cannot go now is kept, not copied, until drained()
   * settles: the caller leaves the bytes untouched until then.
   */
  write(bytes: Uint8Array): boolean;
  /** Settles true once everything written has gone out, false if the connection closed first. */
  drained(): Promise<boolean>;
  /** Would the connection stay open after this response (client's wish, limits, unread body)? */
  keepAliveWanted(): boolean;
  /** The response is complete (or given up): log it, then go on to the next request or close. */
  finished(status: number, bytes: number, keepAlive: boolean, response?: ResponseFacts): void;
  /** Cut the connection now: the client must see the body is incomplete. */
  cut(): void;
}

const NONE = 0; // no body allowed (HEAD, 1xx, 204, 304)
const LENGTH = 1; // the app's Content-Length
const CHUNKED = 2;
const CLOSE = 3; // HTTP/1.0 without a length: the end of the connection ends the body

/**
 * Edits a response's head before it is written (mod_headers' Header rules): `fields` is
 * [status, name, value, name, value...]; `error` is true for the server's own error pages.
 */
export type HeadEditor = (fields: string[], error: boolean, started?: number) => void;

/** Chunked framing, shared with the daemon proxy's request bodies. */
export const CRLF = Buffer.from("\r\n");
export const DROPS_CONNECTION = new Set([400, 408, 411, 413, 414, 500, 501, 503]);
export const LAST_CHUNK = Buffer.from("0\r\n\r\n");

export class WireResponse implements ResponseSink, ResponseFacts {
  status = 0;
  private mode = NONE;
  /** Body bytes the app's Content-Length still allows. */
  private left = 0;
  private declared = -1;
  private bytes = 0;
  private keepAlive = false;
  /** The Header rules of the host and path answered, if it has any. */
  editHead: HeadEditor | null = null;
  /** When the request was received, µs since the epoch: Header and RequestHeader rules' %t and %D read it. */
  readonly started = nowMicros();
  /** ErrorDocument for the path answered, if any applies there (fail() consults it). */
  errorDocuments: ErrorDocuments | null = null;
  /** Who else answers this response's errors (fail() asks it first): see ErrorDetour. */
  errorDetour: ErrorDetour | null = null;
  /** The connection ends after this response whatever it is: it answers for an error that ends it (an ErrorDocument's script). */
  closes = false;
  /** The host's ServerAdmin, which the 500 page names. */
  serverAdmin: string | undefined = undefined;
  /** For the access log: the head's bytes, its status and fields as written, and who answered (app.ts sets it). */
  headBytes = 0;
  fields: string[] | null = null;
  handler: string | null = null;

  constructor(
    private readonly target: ResponseTarget,
    private readonly head: boolean,
    private readonly http10: boolean,
    private readonly serverSoftware: string,
    /** The server's; a WSGI request's host's once its route is found (app.ts). */
    public errorLog: ErrorLog,
    /** Names the request in log lines: the script or file (%f). */
    readonly label: string,
  ) {}

  complete(head: string, body: Uint8Array): void {
    let text = this.headLines(head);
    let payload = body;
    let short = false;
    if (this.mode === NONE) payload = body.subarray(0, 0);
    else if (this.declared >= 0) {
      if (body.length > this.declared) payload = body.subarray(0, this.declared);
      else if (body.length < this.declared) short = true;
    } else {
      text += `Content-Length: ${body.length}\r\n`;
    }
    this.keepAlive = !short && this.keepsAlive();
    text += this.connectionHeader() + "\r\n";
    const out = Buffer.allocUnsafe(text.length + payload.length);
    out.write(text, 0, "latin1");
    out.set(payload, text.length);
    this.target.write(out);
    this.headBytes = text.length;
    this.bytes = payload.length;
    if (short) this.shortBody();
    if (this.mode !== NONE && payload.length < body.length) this.tooLong();
    this.target.finished(this.status, this.bytes, this.keepAlive, this);
  }

  start(head: string, first: Uint8Array): boolean | Promise<boolean> {
    let text = this.headLines(head);
    if (this.mode !== NONE && this.declared < 0) {
      if (this.http10) this.mode = CLOSE;
      else {
        this.mode = CHUNKED;
        text += "Transfer-Encoding: chunked\r\n";
      }
    }
    this.keepAlive = this.mode !== CLOSE && this.keepsAlive();
    text += this.connectionHeader() + "\r\n";
    this.target.write(Buffer.from(text, "latin1"));
    this.headBytes = text.length;
    return this.send(first);
  }

  get framesChunks(): boolean {
    return this.mode === CHUNKED;
  }

  send(chunk: Uint8Array, framed = 0): boolean | Promise<boolean> {
    if (this.target.closed) return false;
    if (chunk.length === 0) return true;
    // The chunk's bytes stay untouched until the promise returned here settles (see ResponseSink), so
    // what the socket cannot take now is kept without a copy: a long download makes no garbage here.
    if (framed > 0 && this.mode === CHUNKED) {
      // Framed by the worker in the channel: written as it is.
      this.bytes += framed;
      return this.target.write(chunk) || this.target.drained();
    }
    let flushed = true;
    switch (this.mode) {
      case NONE:
        return true; // 204/304 from a generator: iterate on, send nothing
      case LENGTH: {
        const take = Math.min(this.left, chunk.length);
        if (take > 0) flushed = this.target.write(chunk.subarray(0, take));
        this.left -= take;
        this.bytes += take;
        if (take < chunk.length) {
          this.tooLong();
          // No more is wanted, but what went to the socket must leave the chunk's memory first.
          return flushed ? false : this.target.drained().then(() => false);
        }
        break;
      }
      case CHUNKED: {
        const size = `${chunk.length.toString(16)}\r\n`;
        const out = Buffer.allocUnsafe(size.length + chunk.length + 2);
        out.write(size, 0, "latin1");
        out.set(chunk, size.length);
        out.set(CRLF, size.length + chunk.length);
        flushed = this.target.write(out);
        this.bytes += chunk.length;
        noteGarbage(out.length);
        break;
      }
      default: // CLOSE
        flushed = this.target.write(chunk);
        this.bytes += chunk.length;
    }
    return flushed || this.target.drained();
  }

  end(): void {
    if (this.mode === CHUNKED) this.target.write(LAST_CHUNK);
    if (this.mode === LENGTH && this.left > 0) {
      this.shortBody();
      this.keepAlive = false;
    }
    this.target.finished(this.status, this.bytes, this.keepAlive, this);
  }

  abort(): void {
    this.target.cut();
    this.target.finished(this.status, this.bytes, false, this);
  }

  fail(status: number, detail?: PageDetail, close = false): void {
    if (this.errorDetour?.(status, detail)) return;
    const custom = this.errorDocuments?.page(status) ?? null;
    const answer = custom?.status ?? status;
    this.status = answer;
    const page = errorPage(answer, { serverAdmin: this.serverAdmin, ...detail });
    let extra = "";
    const edited = [String(answer)];
    if (this.editHead) {
      this.editHead(edited, true, this.started);
      for (let i = 1; i + 1 < edited.length; i += 2) extra += `${edited[i]}: ${edited[i + 1]}\r\n`;
    }
    const body = custom ? custom.body : Buffer.from(page.body, "latin1");
    let fields = `Content-Length: ${body.length}\r\n`;
    if (custom) for (let i = 0; i + 1 < custom.fields.length; i += 2) fields += `${custom.fields[i]}: ${custom.fields[i + 1]}\r\n`;
    else fields += `Content-Type: ${ERROR_PAGE_TYPE}\r\n`;
    this.fields = [...edited, ...(custom ? custom.fields : ["Content-Type", ERROR_PAGE_TYPE])];
    // Apache's ap_status_drops_connection: after these the connection is not to be trusted.
    this.keepAlive = !close && !DROPS_CONNECTION.has(status) && this.keepsAlive();
    const text = `HTTP/1.1 ${answer} ${page.reason}\r\nDate: ${httpDate()}\r\nServer: ${this.serverSoftware}\r\n${fields}${extra}${this.connectionHeader()}\r\n`;
    const out = this.head ? Buffer.from(text, "latin1") : Buffer.concat([Buffer.from(text, "latin1"), body]);
    this.target.write(out);
    this.headBytes = text.length;
    this.bytes = this.head ? 0 : body.length;
    this.target.finished(answer, this.bytes, this.keepAlive, this);
  }

  /** The connection may serve another request after this response, as far as the response and the client go. */
  private keepsAlive(): boolean {
    return !this.closes && this.target.keepAliveWanted();
  }

  /** The status line and the app's headers; notes the status, framing and declared length. */
  private headLines(head: string): string {
    const fields = head.split("\0");
    if (this.editHead) this.editHead(fields, false, this.started);
    this.fields = fields;
    const status = fields[0]!;
    this.status = parseInt(status, 10);
    // Apache's AP_STATUS_IS_HEADER_ONLY: a 204 or 304 has no body and says nothing of one, so an app's
    // Content-Type and Content-Length are not sent (RFC 9110 8.6 forbids the length on 1xx and 204).
    const headerOnly = this.status < 200 || this.status === 204 || this.status === 304;
    this.mode = this.head || headerOnly ? NONE : CHUNKED;
    // The server's own Date and Server, first, as Apache's ap_basic_http_header writes them: an app's
    // (or a Header rule's) are dropped below, as Apache drops them.
    let text = `HTTP/1.1 ${status}\r\nDate: ${httpDate()}\r\nServer: ${this.serverSoftware}\r\n`;
    // Content-Type and Content-Length go out once, the app's last one, as mod_wsgi sets them (two
    // different lengths would let a client or proxy frame the body either way).
    let contentType: string | null = null;
    for (let i = 1; i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      if (name.length === 14 && name.toLowerCase() === "content-length") {
        if (headerOnly) continue;
        if (!/^\d+$/.test(value)) {
          this.errorLog.error(`${logItem(this.label)}: invalid Content-Length '${value}' in the response: dropped.`);
          continue;
        }
        this.declared = Number(value);
        continue;
      }
      if (name.length === 12 && name.toLowerCase() === "content-type") {
        if (!headerOnly) contentType = `${name}: ${value}\r\n`;
        continue;
      }
      if ((name.length === 4 && name.toLowerCase() === "date") || (name.length === 6 && name.toLowerCase() === "server")) continue;
      text += `${name}: ${value}\r\n`;
    }
    if (contentType !== null) text += contentType;
    if (this.declared >= 0) {
      text += `Content-Length: ${this.declared}\r\n`;
      if (this.mode !== NONE) {
        this.mode = LENGTH;
        this.left = this.declared;
      }
    }
    return text;
  }

  /**
   * Said whenever the connection closes after this response, to an HTTP/1.0 client too (as Apache
   * does): a daemon's response goes to a front speaking HTTP/1.1, which would otherwise take the
   * connection for a persistent one.
   */
  private connectionHeader(): string {
    if (!this.keepAlive) return "Connection: close\r\n";
    return this.http10 ? "Connection: keep-alive\r\n" : "";
  }

  private shortBody(): void {
    this.errorLog.error(`${logItem(this.label)}: the response body ended after ${this.bytes} bytes, short of its Content-Length of ${this.declared}: connection closed.`);
    this.keepAlive = false;
  }

  private tooLong(): void {
    this.errorLog.error(`${logItem(this.label)}: the application returned more than its Content-Length of ${this.declared} bytes: the rest was not sent.`);
  }
}
