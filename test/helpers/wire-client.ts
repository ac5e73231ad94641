// A raw HTTP/1.1 client for tests that must see the wire as it is: it parses responses itself
// (Content-Length, chunked, or until close), so truncation, framing and pipelining are visible.
import { connect, type Socket } from "node:net";

export interface WireResponse {
  status: number;
  reason: string;
  /** Header names lower-cased; repeated headers keep every value. */
  headers: [string, string][];
  header(name: string): string | undefined;
  body: Buffer;
  /** How the body ended: "length", "chunked", "close", or "none" (HEAD, 1xx, 204, 304). */
  framing: "length" | "chunked" | "close" | "none";
  /** The body ended before its framing said it would (short Content-Length, no last chunk). */
  incomplete: boolean;
}

export class WireClient {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | null = null;
  readonly socket: Socket;
  private readonly ready: Promise<void>;

  /** `from`: the local address to connect from (127.0.0.2 is another client on loopback). */
  constructor(port: number, from?: string) {
    this.socket = connect({ port, host: "127.0.0.1", localAddress: from });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    this.socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on("error", () => {});
  }

  async send(data: string | Uint8Array): Promise<void> {
    await this.ready;
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Has the server closed the connection (waiting up to timeoutMs for it)? */
  async closed(timeoutMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await this.more(deadline - Date.now());
    return this.ended;
  }

  /** Everything the server sends until it closes the connection. */
  async rest(timeoutMs = 5_000): Promise<Buffer> {
    await this.closed(timeoutMs);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  /** Reads one response. For HEAD requests pass head=true (no body follows). */
  async response(options: { head?: boolean; timeoutMs?: number } = {}): Promise<WireResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let end: number;
    while ((end = this.buffer.indexOf("\r\n\r\n")) < 0) {
      if (this.ended || Date.now() > deadline) throw new Error(`no response head (got ${JSON.stringify(this.buffer.toString("latin1").slice(0, 200))})`);
      await this.more(deadline - Date.now());
    }
    const lines = this.buffer.toString("latin1", 0, end).split("\r\n");
    this.buffer = this.buffer.subarray(end + 4);
    const statusLine = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (!statusLine) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers = lines.slice(1).map((line): [string, string] => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
    const header = (name: string) => headers.find(([n]) => n === name.toLowerCase())?.[1];
    const status = Number(statusLine[1]);
    const base = { status, reason: statusLine[2]!, headers, header };
    if (options.head || status < 200 || status === 204 || status === 304) {
      return { ...base, body: Buffer.alloc(0), framing: "none", incomplete: false };
    }
    if (header("transfer-encoding")?.toLowerCase() === "chunked") return { ...base, ...(await this.chunked(deadline)) };
    const length = header("content-length");
    if (length !== undefined) {
      const want = Number(length);
      while (this.buffer.length < want && !this.ended && Date.now() < deadline) await this.more(deadline - Date.now());
      const body = this.buffer.subarray(0, want);
      this.buffer = this.buffer.subarray(body.length);
      return { ...base, body, framing: "length", incomplete: body.length < want };
    }
    return { ...base, body: await this.rest(deadline - Date.now()), framing: "close", incomplete: false };
  }

  private async chunked(deadline: number): Promise<{ body: Buffer; framing: "chunked"; incomplete: boolean }> {
    const parts: Buffer[] = [];
    for (;;) {
      let lineEnd: number;
      while ((lineEnd = this.buffer.indexOf("\r\n")) < 0) {
        if (this.ended || Date.now() > deadline) return { body: Buffer.concat(parts), framing: "chunked", incomplete: true };
        await this.more(deadline - Date.now());
      }
      const size = parseInt(this.buffer.toString("latin1", 0, lineEnd), 16);
      while (this.buffer.length < lineEnd + 2 + size + 2) {
        if (this.ended || Date.now() > deadline) {
          parts.push(this.buffer.subarray(lineEnd + 2));
          return { body: Buffer.concat(parts), framing: "chunked", incomplete: true };
        }
        await this.more(deadline - Date.now());
      }
      parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      this.buffer = this.buffer.subarray(lineEnd + 2 + size + 2);
      if (size === 0) return { body: Buffer.concat(parts), framing: "chunked", incomplete: false };
    }
  }

  private more(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve();
      }, Math.max(timeoutMs, 1));
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request on a connection of its own: the response, parsed; the connection closed after. */
export async function exchange(port: number, request: string, from?: string): Promise<WireResponse> {
  const client = new WireClient(port, from);
  try {
    await client.send(request);
    return await client.response();
  } finally {
    client.close();
  }
}

/** A GET (or other bodiless) request. */
export const request = (path: string, extra = "", method = "GET", protocol = "HTTP/1.1") =>
  `${method} ${path} ${protocol}\r\nHost: test\r\n${extra}\r\n`;
