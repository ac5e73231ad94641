// Parses an HTTP/1.x request head (RFC 9112) within Apache's limits. Strict wherever leniency would
// let one request be read as two (request smuggling): a bare CR or LF, obs-fold, whitespace before a
// colon, Content-Length with Transfer-Encoding, or Content-Length twice are answered 400.
import { validHost } from "../host-header.ts";
import type { WireLimits } from "./limits.ts";

export interface ParsedHead {
  method: string;
  /** The request target as received (origin-form, or absolute-form / "*"). */
  target: string;
  protocol: "HTTP/1.0" | "HTTP/1.1";
  /** name, value, name, value... as received (names keep their case). */
  headers: string[];
  /** The declared body length; -1 with none (or chunked). */
  contentLength: number;
  chunked: boolean;
  host: string | null;
  /** What the client asked for: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive". */
  keepAlive: boolean;
  expectContinue: boolean;
}

/** A request header's value (the first of its name), `lowerName` lower-case; null when absent. */
export function headerValue(head: ParsedHead | null, lowerName: string): string | null {
  if (!head) return null;
  const headers = head.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === lowerName.length && headers[i]!.toLowerCase() === lowerName) return headers[i + 1]!;
  }
  return null;
}

/** A request the server answers with `status` (and then closes the connection). */
export class HttpError {
  constructor(readonly status: number, readonly reason: string) {}
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything but VCHAR, obs-text, SP and HTAB inside a line. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const TARGET_CONTROL = /[\x00-\x20\x7f]/;
/** A LF not after a CR, or a CR not before a LF (a CR at the very end may yet get its LF). */
const BARE_CR_OR_LF = /(?:^|[^\r])\n|\r[^\n]/;

/** Apache's DEFAULT_LIMIT_BLANK_LINES: empty lines skipped before a request line. */
export const BLANK_LINES = 10;

/**
 * How many bytes of empty lines (CRLF) open `bytes`, to be skipped before a request line (RFC 9112
 * 2.2: a browser's CRLF after a POST body precedes the next pipelined request); -1 beyond BLANK_LINES.
 */
export function emptyLinesBefore(bytes: Uint8Array): number {
  let at = 0;
  while (at + 1 < bytes.length && bytes[at] === 13 && bytes[at + 1] === 10) {
    at += 2;
    if (at > 2 * BLANK_LINES) return -1;
  }
  return at;
}

/**
 * Where the head in `text` ends (the index after its blank line), -1 while incomplete, or an error
 * once what arrived can no longer become a valid head within the limits.
 */
export function findHeadEnd(text: string, limits: WireLimits): number | HttpError {
  const end = text.indexOf("\r\n\r\n");
  if (end >= 0) return end + 4;
  if (text.includes("\0") || BARE_CR_OR_LF.test(text)) return new HttpError(400, "bare CR, LF or NUL in the request head");
  const lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) {
    return text.length > limits.requestLine ? new HttpError(414, `request line longer than LimitRequestLine (${limits.requestLine})`) : -1;
  }
  const lastLine = text.length - text.lastIndexOf("\r\n") - 2;
  if (lastLine > limits.fieldSize) return new HttpError(400, `a request header field is longer than LimitRequestFieldSize (${limits.fieldSize})`);
  if (text.length > limits.headBytes) return new HttpError(400, "request head larger than the limits allow");
  return -1;
}

/** Parses the complete head text[0, end) (end as findHeadEnd gave it). */
export function parseHead(text: string, end: number, limits: WireLimits): ParsedHead | HttpError {
  const lineEnd = text.indexOf("\r\n");
  if (lineEnd > limits.requestLine) return new HttpError(414, `request line longer than LimitRequestLine (${limits.requestLine})`);
  const requestLine = parseRequestLine(text.slice(0, lineEnd));
  if (requestLine instanceof HttpError) return requestLine;
  const head: ParsedHead = {
    method: requestLine[0],
    target: requestLine[1],
    protocol: requestLine[2],
    headers: [],
    contentLength: -1,
    chunked: false,
    host: null,
    keepAlive: requestLine[2] === "HTTP/1.1",
    expectContinue: false,
  };
  let transferEncoding: string | null = null;
  let fields = 0;
  for (let start = lineEnd + 2; start < end - 2;) {
    const stop = text.indexOf("\r\n", start);
    const line = text.slice(start, stop);
    start = stop + 2;
    if (++fields > limits.fields) return new HttpError(400, `more request header fields than LimitRequestFields (${limits.fields})`);
    if (line.length > limits.fieldSize) return new HttpError(400, `a request header field is longer than LimitRequestFieldSize (${limits.fieldSize})`);
    if (CONTROL.test(line)) return new HttpError(400, "a control character in a request header field");
    const code = line.charCodeAt(0);
    if (code === 32 || code === 9) return new HttpError(400, "obsolete line folding in a request header field");
    const colon = line.indexOf(":");
    if (colon <= 0) return new HttpError(400, "a request header field without a name and colon");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return new HttpError(400, `invalid request header name '${name}'`);
    const value = trimWhitespace(line, colon + 1);
    head.headers.push(name, value);
    const special = specialHeader(name);
    if (special === 0) continue;
    const problem = applySpecial(head, special, value);
    if (problem) return problem;
    if (special === TRANSFER_ENCODING) transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
  }
  if (transferEncoding !== null) {
    const problem = framingByTransferEncoding(head, transferEncoding);
    if (problem) return problem;
  }
  if (limits.relayed) {
    head.keepAlive = true; // see WireLimits.relayed
    return head;
  }
  if (head.protocol === "HTTP/1.1" && head.host === null && !head.target.includes("://")) {
    return new HttpError(400, "an HTTP/1.1 request without a Host header");
  }
  return head;
}

function parseRequestLine(line: string): [string, string, "HTTP/1.0" | "HTTP/1.1"] | HttpError {
  const first = line.indexOf(" ");
  const second = first < 0 ? -1 : line.indexOf(" ", first + 1);
  if (first <= 0 || second < 0) {
    return new HttpError(400, first > 0 && second < 0 ? "an HTTP/0.9 request (no protocol version)" : `malformed request line`);
  }
  const method = line.slice(0, first);
  const target = line.slice(first + 1, second);
  const version = line.slice(second + 1);
  if (!TOKEN.test(method)) return new HttpError(400, "invalid method in the request line");
  if (target === "" || TARGET_CONTROL.test(target)) return new HttpError(400, "invalid request target (spaces or control characters)");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return /^HTTP\/[2-9]\.\d$/.test(version)
      ? new HttpError(505, `unsupported protocol ${version}`)
      : new HttpError(400, "invalid protocol in the request line");
  }
  return [method, target, version];
}

const CONTENT_LENGTH = 1;
const TRANSFER_ENCODING = 2;
const HOST = 3;
const CONNECTION = 4;
const EXPECT = 5;

/** Which framing or routing header a name is (0: none), without lowering every name. */
function specialHeader(name: string): number {
  switch (name.length) {
    case 4:
      return name.toLowerCase() === "host" ? HOST : 0;
    case 6:
      return name.toLowerCase() === "expect" ? EXPECT : 0;
    case 10:
      return name.toLowerCase() === "connection" ? CONNECTION : 0;
    case 14:
      return name.toLowerCase() === "content-length" ? CONTENT_LENGTH : 0;
    case 17:
      return name.toLowerCase() === "transfer-encoding" ? TRANSFER_ENCODING : 0;
    default:
      return 0;
  }
}

function applySpecial(head: ParsedHead, special: number, value: string): HttpError | null {
  switch (special) {
    case CONTENT_LENGTH: {
      if (!/^\d+$/.test(value)) return new HttpError(400, `invalid Content-Length '${value}'`);
      const length = Number(value);
      if (!Number.isSafeInteger(length)) return new HttpError(413, `Content-Length ${value} is too large`);
      // Even equal ones (RFC 9112 6.3 allows refusing them; Apache does): the app would read "5, 5".
      if (head.contentLength >= 0) return new HttpError(400, "more than one Content-Length header");
      head.contentLength = length;
      return null;
    }
    case HOST:
      if (head.host !== null) return new HttpError(400, "more than one Host header");
      if (!validHost(value)) return new HttpError(400, `invalid Host header '${value}'`);
      head.host = value;
      return null;
    case CONNECTION:
      for (const token of value.toLowerCase().split(",")) {
        const option = token.trim();
        if (option === "close") head.keepAlive = false;
        else if (option === "keep-alive" && head.protocol === "HTTP/1.0") head.keepAlive = true;
      }
      return null;
    case EXPECT:
      if (value.toLowerCase() !== "100-continue") return new HttpError(417, `unsupported expectation '${value}'`);
      head.expectContinue = head.protocol === "HTTP/1.1";
      return null;
    default:
      return null;
  }
}

/** RFC 9112 6.1-6.3: only "chunked" is understood, it must be last, and it overrides Content-Length. */
function framingByTransferEncoding(head: ParsedHead, value: string): HttpError | null {
  if (head.protocol === "HTTP/1.0") return new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (head.contentLength >= 0) return new HttpError(400, "both Content-Length and Transfer-Encoding in one request");
  const codings = value.toLowerCase().split(",").map((coding) => coding.trim());
  if (codings[codings.length - 1] !== "chunked") return new HttpError(400, `Transfer-Encoding '${value}' does not end in chunked`);
  if (codings.length > 1) return new HttpError(501, `unsupported Transfer-Encoding '${value}'`);
  head.chunked = true;
  return null;
}

function trimWhitespace(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === line.length ? line : line.slice(start, end);
}
