// Valid requests for the fuzzer, each with what the server must answer when it arrives untouched:
// test/fixtures/fuzz.wsgi (mounted at /fuzz) echoes the request's id, method, path, query, protocol
// and body (length and CRC-32). Mutations (mutations.ts) start from these.
import { crc32 } from "node:zlib";
import type { Random } from "./random.ts";

/** The server's limits the fuzzer aims at (the fuzz server is started with them: fuzzServerArgs). */
export interface FuzzLimits {
  requestLine: number;
  fields: number;
  fieldSize: number;
  body: number;
  maxKeepAliveRequests: number;
}

export const FUZZ_LIMITS: FuzzLimits = { requestLine: 1024, fields: 24, fieldSize: 512, body: 65_536, maxKeepAliveRequests: 4 };

/** What fuzz.wsgi answers in its JSON body. */
export interface Echo {
  id: string;
  method: string;
  path: string;
  query: string;
  protocol: string;
  length: number;
  crc: number;
}

/** A request as lines and body bytes, so structural mutations can edit it before it becomes bytes. */
export interface WireRequest {
  line: string;
  fields: string[];
  /** The body as sent (chunked framing included). */
  body: Buffer;
}

export interface PlannedRequest {
  id: string;
  method: string;
  protocol: "HTTP/1.0" | "HTTP/1.1";
  wire: WireRequest;
  /** The status an untouched request gets. */
  status: number;
  /** The app's echo for it (null when the app does not run or sends no body: 404, 204, 500, HEAD). */
  echo: Echo | null;
  /** An app answers it (with its X-Fuzz-Id); not a path that maps to nothing, which the server answers. */
  fromApp: boolean;
  /** The response is streamed (chunked on HTTP/1.1, ended by the close on HTTP/1.0). */
  streamed: boolean;
  /** The client asks to keep the connection (HTTP/1.1 without close, HTTP/1.0 with keep-alive). */
  keepAlive: boolean;
  chunked: boolean;
  /** The payload (decoded), for mutations that need its size. */
  payloadLength: number;
}

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
const VALUE_CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,;=/()\"'!#$%&*+?@[]^`{|}~\t";
const SEGMENT_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_~"; // no dots: "." and ".." are dot segments
const BODY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \r\n{}\":,";
const COMMON_HEADERS: [string, string][] = [
  ["User-Agent", "fuzz/1.0"], ["Accept", "*/*"], ["Accept-Encoding", "gzip, deflate"], ["Accept-Language", "en"],
  ["Cache-Control", "no-cache"], ["Cookie", "a=b; c=d"], ["Referer", "http://example.org/"], ["X-Requested-With", "fuzz"],
  ["Authorization", "Basic Zm9vOmJhcg=="], ["Content-Type", "application/octet-stream"],
];

/** The bytes of a request. */
export function wireBytes(wire: WireRequest): Buffer {
  const head = `${wire.line}\r\n${wire.fields.map((field) => `${field}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), wire.body]);
}

/** Chunked framing of `payload`: random chunk sizes, sometimes extensions, upper-case hex, leading zeros, trailers. */
export function chunk(random: Random, payload: Buffer, trailers = true): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < payload.length;) {
    const size = Math.min(payload.length - at, random.range(1, 1500));
    let hex = size.toString(16);
    if (random.chance(0.2)) hex = hex.toUpperCase();
    if (random.chance(0.1)) hex = `00${hex}`;
    const extension = random.chance(0.15) ? `;${random.text(random.range(1, 6), "abcxyz")}=${random.text(random.range(0, 6), "abc123")}` : "";
    parts.push(Buffer.from(`${hex}${extension}\r\n`, "latin1"), payload.subarray(at, at + size), Buffer.from("\r\n"));
    at += size;
  }
  const trailer = trailers && random.chance(0.15) ? `X-Trailer-${random.text(3, "abc")}: ${random.text(random.range(0, 20), "xyz")}\r\n` : "";
  parts.push(Buffer.from(`0\r\n${trailer}\r\n`, "latin1"));
  return Buffer.concat(parts);
}

function headerName(random: Random, name: string): string {
  // Header names are case-insensitive: send them in any case.
  return random.chance(0.15) ? name.toLowerCase() : random.chance(0.05) ? name.toUpperCase() : name;
}

function separator(random: Random): string {
  return random.weighted([[8, " "], [1, ""], [1, "\t"], [1, "  "]] as const);
}

export interface PlanOptions {
  id: string;
  /** May the request be a HEAD (only where responses can be matched to requests one by one)? */
  allowHead: boolean;
  /** Is it the last request of its connection (only the last may ask for Connection: close)? */
  last: boolean;
  /** Bytes of another request to hide inside the body (a smuggling attempt that must stay a body). */
  smuggle?: Buffer;
}

/** A random valid request and what an untouched one gets. */
export function planRequest(random: Random, limits: FuzzLimits, options: PlanOptions): PlannedRequest {
  const protocol = random.chance(0.85) ? "HTTP/1.1" : "HTTP/1.0";
  const methods = options.allowHead ? ["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] : ["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  const method = random.pick(methods);
  const hasBody = options.smuggle !== undefined || ((method === "POST" || method === "PUT" || method === "PATCH") && random.chance(0.9));
  const chunked = hasBody && protocol === "HTTP/1.1" && random.chance(0.4);
  const kind = random.weighted([[10, "echo"], [3, "stream"], [1, "empty"], [1, "error"], [chunked ? 0 : 1, "nowhere"]] as const);
  const segment = random.chance(0.5) ? `/${random.text(random.range(1, 12), SEGMENT_CHARS)}` : "";
  const path = kind === "nowhere" ? `/nowhere${segment}` : `/fuzz/${kind}${segment}`;
  const query = random.chance(0.4) ? `${random.text(random.range(1, 5), "abcdef")}=${random.text(random.range(0, 10), "abc123%2B20")}` : "";
  const target = random.chance(0.05) ? `http://fuzz.test${path}` : path;
  const line = `${method} ${target}${query ? `?${query}` : ""} ${protocol}`;

  const fields: string[] = [];
  if (protocol === "HTTP/1.1" || random.chance(0.5)) fields.push(`${headerName(random, "Host")}:${separator(random)}fuzz.test`);
  fields.push(`X-Fuzz-Id:${separator(random)}${options.id}`);
  const extras = random.range(0, Math.min(6, limits.fields - 6));
  for (let i = 0; i < extras; i++) {
    const [name, value] = random.chance(0.6)
      ? random.pick(COMMON_HEADERS)
      : [`X-${random.text(random.range(1, 12), TOKEN_CHARS)}`, random.text(random.range(0, 40), VALUE_CHARS).trim()];
    fields.push(`${headerName(random, name)}:${separator(random)}${value}`);
  }
  if (random.chance(0.03)) fields.push(`X-Latin: caf\xe9 \xff`); // obs-text is allowed in values

  let payload: Buffer = Buffer.alloc(0);
  if (hasBody) {
    const size = random.weighted([[3, random.range(0, 64)], [4, random.range(64, 2048)], [1, random.range(2048, 12_000)]] as const);
    payload = Buffer.from(random.text(size, BODY_CHARS), "latin1");
    if (options.smuggle) payload = Buffer.concat([payload.subarray(0, random.int(payload.length + 1)), options.smuggle, payload]);
  }
  let body: Buffer = payload;
  if (chunked) {
    fields.push(`${headerName(random, "Transfer-Encoding")}:${separator(random)}${random.chance(0.1) ? "Chunked" : "chunked"}`);
    body = chunk(random, payload);
  } else if (hasBody || random.chance(0.05)) {
    fields.push(`${headerName(random, "Content-Length")}:${separator(random)}${payload.length}`);
  }
  const expectContinue = hasBody && protocol === "HTTP/1.1" && random.chance(0.1);
  if (expectContinue) fields.push("Expect: 100-continue");

  let keepAlive = protocol === "HTTP/1.1";
  if (protocol === "HTTP/1.0" && random.chance(0.5)) {
    fields.push("Connection: keep-alive");
    keepAlive = true;
  } else if (protocol === "HTTP/1.1" && options.last && random.chance(0.15)) {
    fields.push("Connection: close");
    keepAlive = false;
  }
  // Shuffle all but the request line: the order of fields carries no meaning.
  for (let i = fields.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }

  const status = kind === "nowhere" ? missingStatus(method) : kind === "empty" ? 204 : kind === "error" ? 500 : 200;
  const fromApp = kind !== "nowhere"; // a missing path's 200 (OPTIONS) is the server's
  const echoed = fromApp && status === 200 && method !== "HEAD";
  return {
    id: options.id,
    method,
    protocol,
    wire: { line, fields, body },
    status,
    echo: echoed ? { id: options.id, method, path: path.slice("/fuzz".length), query, protocol, length: payload.length, crc: crc32(payload) } : null,
    fromApp,
    streamed: kind === "stream",
    keepAlive,
    chunked,
    payloadLength: payload.length,
  };
}

/** A path that maps to nothing, as Apache's default handler answers it: OPTIONS 200, methods it never serves 405, the rest 404. */
function missingStatus(method: string): number {
  if (method === "OPTIONS") return 200;
  return method === "GET" || method === "HEAD" || method === "POST" ? 404 : 405;
}

/** Does the connection stay open after this request's untouched response (served: its number on the connection)? */
export function continuesAfter(request: PlannedRequest, served: number, limits: FuzzLimits): boolean {
  if (!request.keepAlive || request.status === 500) return false;
  if (request.streamed && request.protocol === "HTTP/1.0" && request.method !== "HEAD") return false; // ended by the close
  return limits.maxKeepAliveRequests === 0 || served < limits.maxKeepAliveRequests;
}
