// Parses everything a server sent on one connection as a sequence of HTTP/1.1 responses, strictly
// (RFC 9112): the status line, each header line, one framing (Content-Length or chunked, never both,
// none for 1xx/204/304/HEAD, the close only at the very end), complete bodies, and nothing after a
// response that said Connection: close. Any deviation is a problem, reported with its offset.

export interface StrictResponse {
  status: number;
  /** Header names lower-cased, in order, repeats kept. */
  headers: [string, string][];
  body: Buffer;
  framing: "length" | "chunked" | "close" | "none";
  /** Where it starts in the received bytes. */
  offset: number;
}

export function header(response: StrictResponse, name: string): string | undefined {
  return response.headers.find(([n]) => n === name)?.[1];
}

export interface ParsedStream {
  /** Interim (1xx) responses are left out. */
  responses: StrictResponse[];
  interim: number;
  problems: string[];
}

const STATUS_LINE = /^HTTP\/1\.1 ([1-5]\d\d) [\x20-\x7e\x80-\xff]*$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?)?[ \t]*$/;
const CHUNK_SIZE = /^[0-9a-fA-F]{1,15}$/;

/**
 * `isHead(n)`: was the n-th final response (0-based) an answer to HEAD? `closed`: did the server
 * close the connection (a body ended by the close is only valid then)?
 */
export function parseStream(bytes: Buffer, closed: boolean, isHead: (n: number) => boolean): ParsedStream {
  const responses: StrictResponse[] = [];
  const problems: string[] = [];
  let interim = 0;
  let at = 0;
  const text = bytes.toString("latin1");
  while (at < bytes.length) {
    const offset = at;
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) {
      problems.push(`@${offset}: an incomplete response head ${JSON.stringify(text.slice(at, at + 120))}`);
      break;
    }
    const lines = text.slice(at, end).split("\r\n");
    at = end + 4;
    const statusLine = STATUS_LINE.exec(lines[0]!);
    if (!statusLine) {
      problems.push(`@${offset}: a malformed status line ${JSON.stringify(lines[0]!.slice(0, 120))}`);
      break;
    }
    const status = Number(statusLine[1]);
    const headers: [string, string][] = [];
    let bad = false;
    for (const line of lines.slice(1)) {
      const match = HEADER_LINE.exec(line);
      if (!match) {
        problems.push(`@${offset}: a malformed header line ${JSON.stringify(line.slice(0, 120))}`);
        bad = true;
        break;
      }
      headers.push([match[1]!.toLowerCase(), match[2] ?? ""]);
    }
    if (bad) break;
    const all = (name: string) => headers.filter(([n]) => n === name).map(([, v]) => v);
    const lengths = all("content-length");
    const codings = all("transfer-encoding");
    const connection = all("connection").join(",").toLowerCase();
    const response: StrictResponse = { status, headers, body: Buffer.alloc(0), framing: "none", offset };
    if (status >= 200 && all("date").length !== 1) problems.push(`@${offset}: ${status} without exactly one Date header`);
    if (lengths.length > 1 && new Set(lengths).size > 1) problems.push(`@${offset}: conflicting Content-Length headers ${lengths.join(", ")}`);
    if (lengths.some((value) => !/^\d+$/.test(value))) problems.push(`@${offset}: an invalid Content-Length '${lengths.join(", ")}'`);
    if (lengths.length && codings.length) problems.push(`@${offset}: both Content-Length and Transfer-Encoding`);
    if (codings.length && (codings.length > 1 || codings[0]!.toLowerCase() !== "chunked")) problems.push(`@${offset}: Transfer-Encoding '${codings.join(", ")}'`);
    if (status < 200) {
      if (status !== 100 || lengths.length || codings.length) problems.push(`@${offset}: an interim ${status} with framing headers or other than 100`);
      interim++;
      continue;
    }
    const head = isHead(responses.length);
    if (status === 204 || status === 304) {
      if (codings.length || (status === 204 && lengths.length)) problems.push(`@${offset}: a ${status} with framing headers`);
    } else if (head) {
      // A HEAD answer: headers as for GET, no body.
    } else if (codings.length) {
      const chunked = readChunked(bytes, text, at);
      if (typeof chunked === "string") {
        problems.push(`@${offset}: ${chunked}`);
        responses.push(response);
        break;
      }
      response.framing = "chunked";
      response.body = chunked.body;
      at = chunked.next;
    } else if (lengths.length) {
      const length = Number(lengths[0]);
      if (at + length > bytes.length) {
        problems.push(`@${offset}: a body cut short: ${bytes.length - at} of its Content-Length ${length}`);
        responses.push(response);
        break;
      }
      response.framing = "length";
      response.body = bytes.subarray(at, at + length);
      at += length;
    } else {
      if (!closed) problems.push(`@${offset}: a body without length or chunking on a connection the server kept open`);
      response.framing = "close";
      response.body = bytes.subarray(at);
      at = bytes.length;
    }
    responses.push(response);
    if (/(^|,)\s*close\s*(,|$)/.test(connection) && at < bytes.length) {
      problems.push(`@${at}: ${bytes.length - at} bytes after a response that said Connection: close`);
      break;
    }
  }
  return { responses, interim, problems };
}

function readChunked(bytes: Buffer, text: string, from: number): { body: Buffer; next: number } | string {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd < 0) return "a chunked body cut short (no chunk size line)";
    const line = text.slice(at, lineEnd);
    if (!CHUNK_SIZE.test(line)) return `a malformed chunk size line ${JSON.stringify(line.slice(0, 40))}`;
    const size = parseInt(line, 16);
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size + 2 > bytes.length) return `a chunked body cut short (a chunk of ${size} with ${bytes.length - at} bytes left)`;
    if (text.slice(at + size, at + size + 2) !== "\r\n") return "chunk data not followed by CRLF";
    parts.push(bytes.subarray(at, at + size));
    at += size + 2;
  }
  // Trailer fields, then the empty line.
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd < 0) return "a chunked body without its final empty line";
    const line = text.slice(at, lineEnd);
    at = lineEnd + 2;
    if (line === "") return { body: Buffer.concat(parts), next: at };
    if (!HEADER_LINE.test(line)) return `a malformed trailer line ${JSON.stringify(line.slice(0, 40))}`;
  }
}
