// A daemon process's HTTP/1.1 response, read by the front: the head (status, the app's headers, how
// the body is framed) and the body's payload as it arrives, whatever the daemon's framing was, so the
// front can frame it again for its own client (wire/response-writer.ts).
import { ChunkedDecoder } from "../http/wire/chunked-decoder.ts";
import { HttpError } from "../http/wire/head-parser.ts";
import type { WireLimits } from "../http/wire/limits.ts";

/** The most a response head may take (the app's headers, cookies included). */
export const MAX_RESPONSE_HEAD = 1 << 20;

/** Hop-by-hop: about the daemon's connection, not the response. The front writes its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"]);

export interface ResponseHead {
  status: number;
  /** "200 OK\0Name\0value..." as a WireResponse takes it. */
  head: string;
  /** Content-Length, or -1. */
  length: number;
  chunked: boolean;
  /** The daemon closes the connection after this response. */
  close: boolean;
}

/** Where the head in `bytes` ends (after its blank line), or -1 while it is incomplete. */
export function responseHeadEnd(bytes: Buffer): number {
  const end = bytes.indexOf("\r\n\r\n", 0, "latin1");
  return end < 0 ? -1 : end + 4;
}

export function parseResponseHead(bytes: Buffer, end: number): ResponseHead | string {
  const lines = bytes.toString("latin1", 0, end - 4).split("\r\n");
  const match = /^HTTP\/1\.([01]) (\d{3,4})(?: (.*))?$/.exec(lines[0]!);
  if (!match) return `a malformed status line '${lines[0]!.slice(0, 80)}'`;
  const status = Number(match[2]);
  const fields = [`${match[2]} ${match[3] ?? ""}`];
  let length = -1;
  let chunked = false;
  let close = match[1] === "0";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return `a malformed header line '${line.slice(0, 80)}'`;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      if (!/^\d+$/.test(value)) return `an invalid Content-Length '${value}'`;
      length = Number(value);
    } else if (lower === "transfer-encoding") chunked = value.toLowerCase() === "chunked";
    else if (lower === "connection") {
      const tokens = value.toLowerCase().split(",").map((token) => token.trim());
      if (tokens.includes("close")) close = true;
      else if (tokens.includes("keep-alive")) close = false;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    fields.push(name, value);
  }
  return { status, head: fields.join("\0"), length: chunked ? -1 : length, chunked, close };
}

export const enum Framing {
  /** No body: HEAD, 1xx, 204, 304. */
  None,
  Length,
  Chunked,
  /** Delimited by the daemon closing the connection (its answer to an HTTP/1.0 request). */
  Close,
}

export function framingOf(head: ResponseHead, method: string): Framing {
  if (method === "HEAD" || head.status < 200 || head.status === 204 || head.status === 304) return Framing.None;
  if (head.chunked) return Framing.Chunked;
  return head.length >= 0 ? Framing.Length : Framing.Close;
}

/** The body's payload out of the bytes that follow the head. */
export class ResponseBody {
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  done: boolean;

  constructor(readonly framing: Framing, length: number, limits: WireLimits) {
    this.remaining = framing === Framing.Length ? length : 0;
    this.decoder = framing === Framing.Chunked ? new ChunkedDecoder(limits) : null;
    this.done = framing === Framing.None || (framing === Framing.Length && length === 0);
  }

  /** Appends the payload in `bytes` to `out` (views of `bytes`); the error if the framing is broken. */
  feed(bytes: Uint8Array, out: Uint8Array[]): HttpError | null {
    if (this.done || bytes.length === 0) return null;
    switch (this.framing) {
      case Framing.Length: {
        const take = Math.min(this.remaining, bytes.length);
        out.push(take === bytes.length ? bytes : bytes.subarray(0, take));
        this.remaining -= take;
        this.done = this.remaining === 0;
        return null;
      }
      case Framing.Chunked: {
        const result = this.decoder!.feed(bytes, (payload) => out.push(payload));
        if (result instanceof HttpError) return result;
        this.done = this.decoder!.done;
        return null;
      }
      default:
        out.push(bytes);
        return null;
    }
  }

  /** The daemon closed the connection: the end of a Close-framed body, a cut one otherwise. */
  closed(): boolean {
    if (this.framing === Framing.Close) this.done = true;
    return this.done;
  }
}
