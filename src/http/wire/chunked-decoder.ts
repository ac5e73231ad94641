// Decodes a `Transfer-Encoding: chunked` request body as it arrives (RFC 9112 7.1), strictly: a
// malformed size line, a missing CRLF after a chunk or an oversized trailer ends the request with 400,
// so the bytes after a body are never mistaken for (or hidden inside) another request.
import { HttpError } from "./head-parser.ts";
import type { WireLimits } from "./limits.ts";

const SIZE = 0;
const DATA = 1;
const DATA_END = 2; // the CRLF after a chunk's data
const TRAILER = 3;
const DONE = 4;

const CR = 13;
const LF = 10;
/** Hex digits, then chunk extensions (whose content is not ours to judge beyond being printable). */
const SIZE_LINE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[\x20-\x7e\x80-\xff\t]*)?$/;
const MAX_LINE = 4096;

export class ChunkedDecoder {
  private state = SIZE;
  private line = "";
  private remaining = 0;
  private trailerFields = 0;

  constructor(private readonly limits: WireLimits) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Decodes what it can of `bytes`, handing payload to onData as views of `bytes`. Returns how many
   * bytes it consumed: all of them until the body ends, then the rest belongs to the next request.
   */
  feed(bytes: Uint8Array, onData: (payload: Uint8Array) => void): number | HttpError {
    let at = 0;
    while (at < bytes.length && this.state !== DONE) {
      if (this.state === DATA) {
        const take = Math.min(this.remaining, bytes.length - at);
        onData(bytes.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = DATA_END;
        continue;
      }
      // SIZE, DATA_END and TRAILER read lines, byte by byte: they are a few bytes each.
      const byte = bytes[at++]!;
      if (byte === LF) {
        if (!this.line.endsWith("\r")) return new HttpError(400, "a bare LF in the chunked body framing");
        const problem = this.endLine(this.line.slice(0, -1));
        if (problem) return problem;
        this.line = "";
        continue;
      }
      if (this.line.endsWith("\r")) return new HttpError(400, "a bare CR in the chunked body framing");
      if (byte === 0 || (byte < 32 && byte !== 9 && byte !== CR) || byte === 127) {
        return new HttpError(400, "a control character in the chunked body framing");
      }
      this.line += String.fromCharCode(byte);
      if (this.line.length > (this.state === TRAILER ? this.limits.fieldSize : MAX_LINE)) {
        return new HttpError(400, "a chunk size or trailer line that is too long");
      }
    }
    return at;
  }

  private endLine(line: string): HttpError | null {
    switch (this.state) {
      case SIZE: {
        const match = SIZE_LINE.exec(line);
        if (!match) return new HttpError(400, `invalid chunk size line '${line.slice(0, 40)}'`);
        this.remaining = parseInt(match[1]!, 16);
        this.state = this.remaining === 0 ? TRAILER : DATA;
        return null;
      }
      case DATA_END:
        if (line !== "") return new HttpError(400, "chunk data longer than its declared size");
        this.state = SIZE;
        return null;
      default: // TRAILER: fields are read and dropped (a WSGI app has no way to see them)
        if (line === "") {
          this.state = DONE;
          return null;
        }
        if (++this.trailerFields > this.limits.fields) return new HttpError(400, "too many trailer fields");
        if (line.indexOf(":") <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
          return new HttpError(400, "a malformed trailer field");
        }
        return null;
    }
  }
}
