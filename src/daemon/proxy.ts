// The front's side of a request for a daemon process group (WSGIProcessGroup NAME): it is sent as
// HTTP/1.1 over the private unix socket of one of the group's processes, which runs it as the embedded
// path would, and the response comes back through the client's WireResponse (so keep-alive,
// Content-Length and HEAD rules hold as for any response). mod_wsgi's daemon mode does the same over
// its own socket protocol.
//
// The request body is sent only once the daemon's app starts reading it (the front asks with
// `Expect: 100-continue`), so a request the daemon did not start on can go to another process: one
// whose script changed (it answers SCRIPT_CHANGED_STATUS and is being restarted), one that refuses
// connections (dead, draining), or a pooled connection the daemon closed before reading the request.
import type { Peer } from "../http/app.ts";
import { framesBody, relayText, type ErrorRedirect } from "../http/error-redirect.ts";
import type { ParsedHead } from "../http/wire/head-parser.ts";
import type { WireLimits } from "../http/wire/limits.ts";
import { BodyProblem } from "../http/wire/request-body.ts";
import { CRLF, LAST_CHUNK } from "../http/wire/response-writer.ts";
import type { BodySource, ResponseSink } from "../http/wsgi-exchange.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { logPath } from "../log/log-item.ts";
import type { DaemonGroup, DaemonGroups } from "./daemon-groups.ts";
import { FRONT_EXPECT, FRONT_HEADER, FRONT_HEADER_LOWER, FRONT_HTTP10, FRONT_REDIRECT, FRONT_SNI, FRONT_USER, SCRIPT_CHANGED_STATUS } from "./protocol.ts";
import type { Upstream } from "./upstream.ts";
import {
  Framing, framingOf, MAX_RESPONSE_HEAD, parseResponseHead, ResponseBody, responseHeadEnd, type ResponseHead,
} from "./upstream-response.ts";

const EMPTY = new Uint8Array(0);
/** Body bytes asked of the client per write to the daemon. */
const BODY_PIECE = 1 << 18;
/** A chunk-size line for BODY_PIECE bytes at the most: "40000\r\n". */
const SIZE_LINE_ROOM = 8;
/** RFC 9110 9.2.2: requests that may be sent again when the first try may not have been received. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
/** Tries per request on other processes of the group. */
const MAX_TRIES = 4;
/**
 * A pooled connection the daemon closed as the request went out (it was draining, or had just died)
 * ends within milliseconds of the write. One that ends later had the request and died running it (a
 * deadlock-timeout= of at least a second, a crash): sent again, it would take the next process too.
 */
const RESEND_WITHIN_MS = 250;

export interface ProxyOptions {
  groups: DaemonGroups;
  /** The index of the listener this front's requests arrive on: the daemon routes them as that listener's app would. */
  listener: number;
  limits: WireLimits;
  errorLog: ErrorLog;
}

/** How one try went. */
type Outcome =
  | { kind: "done" }
  /** The daemon's script changed: another process must take it. */
  | { kind: "bounced" }
  /** The connection closed before a response head: the daemon died, or closed a pooled connection. */
  | { kind: "lost"; retry: boolean; why: string };

export class DaemonProxy {
  constructor(private readonly options: ProxyOptions) {}

  /**
   * Runs the request for `script` in daemon process group `groupName`; the response goes to `response`,
   * what goes wrong to `log` (the request's host's error log). `user`: who Basic authentication let in.
   * `redirect`: the request is an ErrorDocument's script's (http/error-redirect.ts), relayed as such.
   */
  async forward(peer: Peer, head: ParsedHead, body: BodySource, script: string, groupName: string, response: ResponseSink,
    log: ErrorLog = this.options.errorLog, user: string | null = null, redirect?: ErrorRedirect): Promise<void> {
    const group = this.options.groups.get(groupName);
    if (!group) {
      // A WSGIProcessGroup (in a section inside a route) naming no WSGIDaemonProcess: warned at start-up.
      log.error(`No WSGI daemon process called '${groupName}' has been configured: ${logPath(script)}`);
      return response.fail(500);
    }
    const hasBody = hasBodyOf(head);
    const request = this.requestHead(peer, head, hasBody && !head.expectContinue, user, redirect);
    const deadline = Date.now() + group.connectTimeoutMs;
    for (let tries = 1; ; tries++) {
      const socket = await group.pick(deadline);
      if (!socket) return this.unavailable(group, script, response, log);
      const upstream = await socket.connection();
      if (!upstream) {
        socket.outstanding--;
        continue;
      }
      const state = { reusable: false };
      let outcome: Outcome;
      try {
        outcome = await this.exchange(upstream, request, head, body, response, state);
      } finally {
        if (!state.reusable) upstream.cut();
        socket.release(upstream, state.reusable);
      }
      if (outcome.kind === "done") return;
      if (outcome.kind === "bounced") {
        // The daemon answers so before its app runs, and a body goes only once the app reads it (its
        // 100 Continue): the request is whole still, for another process.
        socket.staleUntil = Date.now() + group.connectTimeoutMs;
        continue;
      }
      if (outcome.retry && tries < MAX_TRIES) continue;
      // mod_wsgi's words for a daemon that went away in the middle of a request.
      log.error(`Truncated or oversized response headers received from daemon process '${group.name}': ${outcome.why} (${socket.path}), serving '${logPath(script)}'.`);
      return response.fail(500);
    }
  }

  private unavailable(group: DaemonGroup, script: string, response: ResponseSink, log: ErrorLog): void {
    log.error(`Unable to connect to WSGI daemon process '${group.name}' within its connect-timeout of ` +
      `${group.connectTimeoutMs / 1000} s: no process of the group is taking requests, serving '${logPath(script)}'.`);
    response.fail(503);
  }

  /**
   * The request as the daemon receives it: as the client sent it, plus FRONT_HEADER (and Expect when
   * `expect`), always as HTTP/1.1: the front's connection persists whatever the client's does, and
   * an HTTP/1.0 client's protocol goes in FRONT_HEADER.
   */
  private requestHead(peer: Peer, head: ParsedHead, expect: boolean, user: string | null, redirect?: ErrorRedirect): Buffer {
    let text = `${head.method} ${redirect ? redirect.target.raw : head.target} HTTP/1.1\r\n`;
    const headers = head.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === FRONT_HEADER_LOWER.length && name.toLowerCase() === FRONT_HEADER_LOWER) continue; // a forgery
      if (redirect && framesBody(name.toLowerCase())) continue;
      text += `${name}: ${headers[i + 1]}\r\n`;
    }
    const flags = `${expect ? ` ${FRONT_EXPECT}` : ""}${head.protocol === "HTTP/1.0" ? ` ${FRONT_HTTP10}` : ""}` +
      (user === null ? "" : ` ${FRONT_USER}${encodeURIComponent(user)}`) +
      (peer.serverNameIndication ? ` ${FRONT_SNI}${encodeURIComponent(peer.serverNameIndication)}` : "") +
      (redirect ? ` ${FRONT_REDIRECT}${encodeURIComponent(relayText(redirect))}` : "");
    text += `${FRONT_HEADER}: ${peer.peerAddress} ${peer.peerPort} ${this.options.listener} ${peer.localAddress || "-"}${flags}\r\n`;
    if (expect) text += "Expect: 100-continue\r\n";
    return Buffer.from(text + "\r\n", "latin1");
  }

  /**
   * One try on one connection: send the request, relay the response. Sets `state.reusable` when the
   * connection may carry another request (the caller closes it otherwise).
   */
  private async exchange(upstream: Upstream, request: Buffer, head: ParsedHead, body: BodySource,
    response: ResponseSink, state: { reusable: boolean }): Promise<Outcome> {
    const reused = upstream.reused;
    let pump = null as BodyPump | null; // set by startBody, which TypeScript cannot follow
    const startBody = () => (pump ??= new BodyPump(upstream, body, head.chunked ? -1 : head.contentLength));
    upstream.write(request);
    const sentAt = performance.now();

    // The response head, after any 100 Continue (the daemon's app began reading the body).
    let buffered: Buffer | null = null;
    let parsed: ResponseHead | null = null;
    while (!parsed) {
      const bytes = await upstream.read();
      if (bytes === null) {
        if (pump?.problem) return this.clientBodyFailed(pump.problem, head.method, response);
        // A started pump owns the body (it may be waiting in a read): another try could not have it whole.
        const untouched = !buffered && pump === null;
        const unread = performance.now() - sentAt < RESEND_WITHIN_MS;
        return {
          kind: "lost",
          retry: untouched && reused && unread && IDEMPOTENT.has(head.method),
          why: buffered ? "the connection closed in the middle of the response head" : "the process closed the connection before responding",
        };
      }
      buffered = buffered ? Buffer.concat([buffered, bytes]) : bytes;
      for (let end = responseHeadEnd(buffered); end >= 0 && !parsed; end = responseHeadEnd(buffered)) {
        const result = parseResponseHead(buffered, end);
        if (typeof result === "string") {
          return { kind: "lost", retry: false, why: result };
        }
        buffered = buffered.subarray(end);
        // The daemon's "100 Continue" (a bare status line): its app began reading the body.
        if (result.status === 100 && !result.head.includes("\0")) startBody();
        else parsed = result;
      }
      if (!parsed && buffered.length > MAX_RESPONSE_HEAD) {
        return { kind: "lost", retry: false, why: "response head too large" };
      }
    }
    if (parsed.status === SCRIPT_CHANGED_STATUS) {
      // Its short error page is not worth reading: the connection goes (the caller closes it).
      return { kind: "bounced" };
    }

    const final = parsed;
    const reader = new ResponseBody(framingOf(final, head.method), final.length, this.options.limits);
    let pieces: Uint8Array[] = [];
    if (buffered!.length && reader.feed(buffered!, pieces)) {
      response.fail(500);
      return { kind: "done" };
    }
    // Reusable once the response is read to its end, if the daemon keeps the connection and is not
    // still waiting for body bytes the front will not send.
    const keeps = () => !final.close && reader.framing !== Framing.Close && reader.done && (pump ? pump.finished : !hasBodyOf(head));
    if (reader.done) {
      // The whole response arrived with its head (the common case): one write to the client.
      response.complete(final.head, pieces.length === 0 ? EMPTY : pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
      state.reusable = keeps();
      return { kind: "done" };
    }
    let more = await response.start(final.head, pieces.shift() ?? EMPTY);
    for (;;) {
      for (const piece of pieces) {
        if (!more) break;
        more = await response.send(piece);
      }
      pieces = [];
      if (!more || reader.done) break;
      const bytes = await upstream.read();
      if (bytes === null) {
        if (!reader.closed()) {
          response.abort(); // the daemon's app failed after its head, or the process died
          return { kind: "done" };
        }
        break;
      }
      if (reader.feed(bytes, pieces)) {
        response.abort();
        return { kind: "done" };
      }
    }
    // When the client is gone, or the app wrote past its Content-Length, the connection is cut (the
    // caller does it): the daemon's app is told so, its next write raises and its close() runs.
    response.end();
    state.reusable = more && keeps();
    return { kind: "done" };
  }

  /** The client's body failed while it went to the daemon: answer as the embedded path would. */
  private clientBodyFailed(problem: BodyProblem, method: string, response: ResponseSink): Outcome {
    response.fail(problem === BodyProblem.TooLarge ? 413 : 400, { method });
    return { kind: "done" };
  }
}

/** A request body that was announced but not sent leaves the daemon's connection waiting for it. */
function hasBodyOf(head: ParsedHead): boolean {
  return head.chunked || head.contentLength > 0;
}

/** Copies the client's request body to the daemon as the client sends it, chunked again if it came chunked. */
class BodyPump {
  finished = false;
  problem: BodyProblem | null = null;

  /** `length`: the declared Content-Length, or -1 for a chunked body. */
  constructor(private readonly upstream: Upstream, private readonly body: BodySource, private readonly length: number) {
    void this.run();
  }

  private async run(): Promise<void> {
    const upstream = this.upstream;
    const chunked = this.length < 0;
    let left = this.length;
    // One buffer for the whole body: a piece the socket does not take at once waits in the outbox as a
    // view of it, and the next read comes only once the outbox has drained.
    // A chunked piece is read between room for its size line and its CRLF: one write per piece.
    const buffer = new Uint8Array(chunked ? SIZE_LINE_ROOM + BODY_PIECE + 2 : Math.max(1, Math.min(BODY_PIECE, left)));
    for (;;) {
      const into = chunked ? buffer.subarray(SIZE_LINE_ROOM, SIZE_LINE_ROOM + BODY_PIECE) : buffer.subarray(0, Math.max(1, Math.min(buffer.length, left)));
      const count = await this.body.readInto(into);
      if (upstream.closed) return;
      if (count === null) {
        if (chunked) upstream.write(LAST_CHUNK);
        this.finished = true;
        return;
      }
      if (count < 0) {
        // Past LimitRequestBody, or the client went away: the daemon's app must not see a whole body.
        this.problem = count as BodyProblem;
        upstream.cut();
        return;
      }
      const piece = into.subarray(0, count);
      left -= count;
      let flushed: boolean;
      if (chunked) {
        const sizeLine = `${count.toString(16)}\r\n`;
        const start = SIZE_LINE_ROOM - sizeLine.length;
        for (let i = 0; i < sizeLine.length; i++) buffer[start + i] = sizeLine.charCodeAt(i);
        buffer.set(CRLF, SIZE_LINE_ROOM + count);
        flushed = upstream.write(buffer.subarray(start, SIZE_LINE_ROOM + count + 2));
      } else flushed = upstream.write(piece);
      if (!flushed && !(await upstream.drained())) return;
    }
  }
}
