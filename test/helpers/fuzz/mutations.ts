// What the fuzzer does to valid requests. Structural mutations make a request the server must refuse,
// with the status(es) Apache gives (or a close); blind mutations flip, insert, delete, duplicate,
// oversize, falsify lengths and truncate bytes anywhere, with no outcome known in advance beyond
// "a well-formed answer or a close, and never a request answered that was not sent".
import type { Random } from "./random.ts";
import { chunk, type FuzzLimits, type PlannedRequest, type WireRequest, wireBytes } from "./requests.ts";

export interface Refusal {
  name: string;
  bytes: Buffer;
  /** The statuses an answer may have; refusals found in the body may also end in a close alone. */
  statuses: number[];
  /** Found in the head (before the app runs): the error response must be there. */
  inHead: boolean;
  /** Ids of requests hidden in the bytes that must never be answered. */
  smuggled: string[];
}

const FRAMING = /^(content-length|transfer-encoding|expect)\s*:/i;

function withoutFraming(fields: string[]): string[] {
  return fields.filter((field) => !FRAMING.test(field));
}

function setTarget(line: string, target: string): string {
  const [method, , protocol] = line.split(" ");
  return `${method} ${target} ${protocol}`;
}

/** A request hidden inside another one's bytes: answering it means one request was read as two. */
export function smuggledRequest(id: string): Buffer {
  return Buffer.from(`GET /fuzz/echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: ${id}\r\n\r\n`, "latin1");
}

function replaceOne(text: string, find: string, by: string, random: Random): string {
  const at: number[] = [];
  for (let i = text.indexOf(find); i >= 0; i = text.indexOf(find, i + 1)) at.push(i);
  if (at.length === 0) return text;
  const i = random.pick(at);
  return text.slice(0, i) + by + text.slice(i + find.length);
}

function headAndBody(wire: WireRequest): [string, Buffer] {
  const bytes = wireBytes(wire);
  const head = `${wire.line}\r\n${wire.fields.map((f) => `${f}\r\n`).join("")}\r\n`;
  return [head, bytes.subarray(head.length)];
}

function fromHead(head: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

function insertField(random: Random, wire: WireRequest, field: string): WireRequest {
  const fields = [...wire.fields];
  fields.splice(random.int(fields.length + 1), 0, field);
  return { ...wire, fields };
}

type Structural = (random: Random, request: PlannedRequest, limits: FuzzLimits, smuggleId: string) => Refusal | null;

const head400 = (name: string, bytes: Buffer, statuses = [400]): Refusal => ({ name, bytes, statuses, inHead: true, smuggled: [] });

const STRUCTURAL: Structural[] = [
  (random, request) => {
    const [head, body] = headAndBody(request.wire);
    const cut = head.slice(0, -2); // the blank line stays whole: a bare LF before it
    return head400("a bare LF in the head", fromHead(replaceOne(cut, "\r\n", "\n", random) + "\r\n", body));
  },
  (random, request) => {
    const [head, body] = headAndBody(request.wire);
    const cut = head.slice(0, -2);
    return head400("a bare CR in the head", fromHead(replaceOne(cut, "\r\n", random.pick(["\r", "\rX"]), random) + "\r\n", body));
  },
  (random, request) => {
    const wire = request.wire;
    if (random.chance(0.5) || wire.fields.length === 0) {
      const [method, target, protocol] = wire.line.split(" ");
      const at = random.range(1, target!.length);
      const line = `${method} ${target!.slice(0, at)}${random.pick(["\0", "\x01", "\x7f", "\x1b"])}${target!.slice(at)} ${protocol}`;
      return head400("a control character in the target", wireBytes({ ...wire, line }));
    }
    const fields = [...wire.fields];
    const i = random.int(fields.length);
    fields[i] = `${fields[i]}${random.pick(["\0", "\x01", "\x7f", "\x0b"])}x`;
    return head400("a control character in a header value", wireBytes({ ...wire, fields }));
  },
  (random, request) => {
    const fields = [...request.wire.fields];
    const i = random.int(fields.length);
    fields[i] = `${fields[i]}\r\n${random.pick([" ", "\t", "  "])}folded`;
    return head400("obs-fold", wireBytes({ ...request.wire, fields }));
  },
  (random, request) => {
    const fields = [...request.wire.fields];
    const i = random.int(fields.length);
    fields[i] = fields[i]!.replace(":", random.pick([" :", "\t:"]));
    return head400("whitespace before a colon", wireBytes({ ...request.wire, fields }));
  },
  (random, request) => head400("a field without a colon", wireBytes(insertField(random, request.wire, random.pick(["nonsense", "X-A", "X-B value"])))),
  (random, request) => head400("an invalid header name", wireBytes(insertField(random, request.wire, `${random.pick(["X(y)", "X y", "X\"q", "X@", "[a]"])}: 1`))),
  (random, request, _limits, smuggleId) => {
    // CL.TE and TE.CL: framings that disagree about where the body ends, a request hidden in the gap.
    const hidden = smuggledRequest(smuggleId);
    const clTe = random.chance(0.5);
    const body = clTe ? Buffer.concat([Buffer.from("0\r\n\r\n"), hidden]) : Buffer.concat([Buffer.from(`${hidden.length.toString(16)}\r\n`), hidden, Buffer.from("\r\n0\r\n\r\n")]);
    const length = clTe ? body.length : random.range(3, 6);
    const te = random.pick(["chunked", "Chunked", " chunked", "chunked "]);
    let fields = withoutFraming(request.wire.fields);
    fields = [...fields, `Content-Length: ${length}`, `Transfer-Encoding:${te}`];
    if (random.chance(0.5)) fields.reverse();
    const line = setTarget(request.wire.line.replace("HTTP/1.0", "HTTP/1.1"), "/fuzz/echo");
    if (!fields.some((f) => /^host:/i.test(f))) fields.push("Host: fuzz.test");
    return { name: `Content-Length with Transfer-Encoding (${clTe ? "CL.TE" : "TE.CL"})`, bytes: wireBytes({ line, fields, body }), statuses: [400], inHead: true, smuggled: [smuggleId] };
  },
  (random, request, _limits, smuggleId) => {
    const hidden = smuggledRequest(smuggleId);
    // Equal ones too: refused as Apache refuses them (and the app would read "N, N").
    const same = random.chance(0.3);
    const fields = [...withoutFraming(request.wire.fields), `Content-Length: ${hidden.length}`, `Content-Length: ${same ? hidden.length : random.range(0, 4)}`];
    if (random.chance(0.5)) fields.reverse();
    return { name: same ? "two equal Content-Lengths" : "two different Content-Lengths", bytes: wireBytes({ ...request.wire, fields, body: hidden }), statuses: [400], inHead: true, smuggled: [smuggleId] };
  },
  (random, request) => {
    const value = random.pick(["-1", "+5", "0x10", "1 2", "", "5,5", "5, 5", "1e3", "12a", "\xb3", "0.5"]);
    const fields = [...withoutFraming(request.wire.fields), `Content-Length: ${value}`];
    return head400(`an invalid Content-Length '${value}'`, wireBytes({ ...request.wire, fields, body: Buffer.from("hello") }));
  },
  (random, request) => {
    const fields = [...withoutFraming(request.wire.fields), `Content-Length: ${random.pick(["99999999999999999999", "18446744073709551616", "9007199254740993"])}`];
    return head400("an enormous Content-Length", wireBytes({ ...request.wire, fields, body: Buffer.from("x") }), [413]);
  },
  (random, request, limits) => {
    const length = limits.body + random.range(1, 5000);
    const fields = [...withoutFraming(request.wire.fields), `Content-Length: ${length}`];
    const line = setTarget(request.wire.line, "/fuzz/echo");
    return head400("a declared body over LimitRequestBody", wireBytes({ line, fields, body: Buffer.alloc(Math.min(length, 2000), 120) }), [413]);
  },
  (random, request) => {
    const [value, status] = random.pick([["gzip", 400], ["gzip, chunked", 501], ["identity", 400], ["chunked, gzip", 400], ["chunked, chunked", 501], ["deflate,chunked", 501]] as const);
    const line = request.wire.line.replace("HTTP/1.0", "HTTP/1.1");
    const fields = [...withoutFraming(request.wire.fields), `Transfer-Encoding: ${value}`];
    if (!fields.some((f) => /^host:/i.test(f))) fields.push("Host: fuzz.test");
    return head400(`Transfer-Encoding '${value}'`, wireBytes({ line, fields, body: Buffer.from("0\r\n\r\n") }), [status]);
  },
  (random, request) => {
    const line = request.wire.line.replace("HTTP/1.1", "HTTP/1.0");
    const fields = [...withoutFraming(request.wire.fields), "Transfer-Encoding: chunked"];
    return head400("Transfer-Encoding in HTTP/1.0", wireBytes({ line, fields, body: chunk(random, Buffer.from("hello")) }));
  },
  (random, request, limits) => chunkedBody(random, request, limits),
  (random, request, limits) => {
    const extra = limits.requestLine + random.range(1, 400);
    const [method, target, protocol] = request.wire.line.split(" ");
    const line = `${method} ${target}${target!.includes("?") ? "&" : "?"}pad=${"p".repeat(extra)} ${protocol}`;
    return head400("a request line over LimitRequestLine", wireBytes({ ...request.wire, line }), [414]);
  },
  (random, request, limits) => {
    const fields = [...request.wire.fields];
    while (fields.length <= limits.fields) fields.push(`X-Many-${fields.length}: ${random.text(3, "abc")}`);
    return head400("more fields than LimitRequestFields", wireBytes({ ...request.wire, fields }));
  },
  (random, request, limits) => head400("a field over LimitRequestFieldSize", wireBytes(insertField(random, request.wire, `X-Big: ${"b".repeat(limits.fieldSize + random.range(0, 300))}`))),
  (random, request) => {
    if (request.protocol !== "HTTP/1.1" || request.wire.line.includes("://")) return null;
    const fields = request.wire.fields.filter((f) => !/^host:/i.test(f));
    const choice = random.int(3);
    if (choice === 0) return head400("HTTP/1.1 without Host", wireBytes({ ...request.wire, fields }));
    if (choice === 1) return head400("two Host headers", wireBytes({ ...request.wire, fields: [...fields, "Host: a.test", "Host: b.test"] }));
    return head400("an invalid Host", wireBytes({ ...request.wire, fields: [...fields, `Host: ${random.pick(["a b", "x/y", "u@h", "h?q", "h#f", "a\\b"])}`] }));
  },
  (random, request) => {
    const [version, status] = random.pick([["HTTP/2.0", 505], ["HTTP/3.0", 505], ["http/1.1", 400], ["HTTP/1", 400], ["FOO/1.1", 400], ["HTTP/1.1 ", 400], ["HTTP/11", 400]] as const);
    const [method, target] = request.wire.line.split(" ");
    return head400(`the protocol '${version}'`, wireBytes({ ...request.wire, line: `${method} ${target} ${version}` }), [status]);
  },
  (random, request) => {
    const [, target] = request.wire.line.split(" ");
    // HTTP/0.9: the whole request is the line; the fields after it do not save it.
    return head400("an HTTP/0.9 request", wireBytes({ ...request.wire, line: `GET ${target}` }));
  },
  (random, request) => {
    const [, target, protocol] = request.wire.line.split(" ");
    const method = random.pick(["G(T", "GE\"T", "GET\x7f", "GE/T", "[GET]", "GET,"]);
    return head400("an invalid method", wireBytes({ ...request.wire, line: `${method} ${target} ${protocol}` }));
  },
  (random, request) => {
    const [method, target, protocol] = request.wire.line.split(" ");
    const line = random.pick([`${method}  ${target} ${protocol}`, `${method} ${target}  ${protocol}`, ` ${method} ${target} ${protocol}`, `${method}\t${target} ${protocol}`]);
    return head400("extra whitespace in the request line", wireBytes({ ...request.wire, line }));
  },
  (random, request) => {
    if (request.protocol !== "HTTP/1.1") return null;
    const fields = [...withoutFraming(request.wire.fields), `Expect: ${random.pick(["200-ok", "100-continue, foo", "x"])}`, "Content-Length: 1"];
    return head400("an unsupported expectation", wireBytes({ ...request.wire, fields, body: Buffer.from("x") }), [417]);
  },
];

/** Chunked framing broken in the body (the head is fine, so the app may already be reading: 400 or its 500). */
function chunkedBody(random: Random, request: PlannedRequest, limits: FuzzLimits): Refusal {
  const line = setTarget(request.wire.line.replace("HTTP/1.0", "HTTP/1.1"), "/fuzz/echo");
  const fields = [...withoutFraming(request.wire.fields), "Transfer-Encoding: chunked"];
  if (!fields.some((f) => /^host:/i.test(f))) fields.push("Host: fuzz.test");
  const good = chunk(random, Buffer.from(random.text(random.range(0, 300), "abcdef"), "latin1"), false);
  const prefix = good.subarray(0, good.length - 5); // all but the last chunk "0\r\n\r\n"
  const [name, bad, statuses] = random.pick([
    ["a chunk size that is not hex", `${random.pick(["zz", "g", "-1", "0x5", " 5", "5 5", "+5", ""])}\r\nhello\r\n0\r\n\r\n`, [400, 500]],
    ["a chunk size of 14 hex digits", "ffffffffffffff\r\nhello\r\n0\r\n\r\n", [400, 500]],
    ["chunk data longer than its size", "2\r\nhello\r\n0\r\n\r\n", [400, 500]],
    ["a missing CRLF after chunk data", "5\r\nhelloX\r\n0\r\n\r\n", [400, 500]],
    ["a bare LF in the chunk framing", "5\nhello\r\n0\r\n\r\n", [400, 500]],
    ["a chunk extension with a control character", "5;a=\x01\r\nhello\r\n0\r\n\r\n", [400, 500]],
    ["a malformed trailer", "0\r\nnot a field\r\n\r\n", [400, 500]],
    ["a chunked body over LimitRequestBody", null, [413]],
  ] as const);
  const tail = bad === null ? chunk(random, Buffer.alloc(limits.body + random.range(1, 3000), 121)) : Buffer.from(bad, "latin1");
  return { name, bytes: wireBytes({ line, fields, body: Buffer.concat([prefix, tail]) }), statuses: [...statuses], inHead: false, smuggled: [] };
}

/** A refusing mutation of `request` (retrying the few that do not apply to it). */
export function refuse(random: Random, request: PlannedRequest, limits: FuzzLimits, smuggleId: string): Refusal {
  for (;;) {
    const refusal = random.pick(STRUCTURAL)(random, request, limits, smuggleId);
    if (refusal) return refusal;
  }
}

export interface Blind {
  name: string;
  bytes: Buffer;
  truncated: boolean;
}

const SPECIALS = ["\r", "\n", "\0", " ", "\t", ":", ",", ";", "\r\n", "\r\n\r\n", "\xff", "\x7f", "0", "-"];

/** One blind mutation at a random position (inside a head, given as [start, end) ranges, three times out of four). */
export function blind(random: Random, bytes: Buffer, heads: [number, number][]): Blind {
  const position = (): number => {
    if (heads.length && random.chance(0.75)) {
      const [start, end] = random.pick(heads);
      return random.range(start, Math.max(start, end - 1));
    }
    return random.int(bytes.length);
  };
  const at = Math.min(position(), bytes.length);
  const splice = (from: number, remove: number, insert: Buffer): Buffer => Buffer.concat([bytes.subarray(0, from), insert, bytes.subarray(from + remove)]);
  switch (random.int(8)) {
    case 0:
      return { name: `byte ${at} replaced`, bytes: splice(at, 1, Buffer.from([random.int(256)])), truncated: false };
    case 1: {
      const special = random.pick(SPECIALS);
      return { name: `${JSON.stringify(special)} inserted at ${at}`, bytes: splice(at, 0, Buffer.from(special, "latin1")), truncated: false };
    }
    case 2: {
      const count = random.range(1, 8);
      return { name: `${count} bytes deleted at ${at}`, bytes: splice(at, count, Buffer.alloc(0)), truncated: false };
    }
    case 3: {
      // Duplicate a whole line (a header twice, a chunk size twice...).
      const start = bytes.lastIndexOf("\n", at - 1) + 1;
      const end = bytes.indexOf("\n", at);
      if (end < 0) return { name: "nothing (no line)", bytes, truncated: false };
      return { name: `the line at ${start} duplicated`, bytes: splice(end + 1, 0, bytes.subarray(start, end + 1)), truncated: false };
    }
    case 4: {
      const count = random.pick([100, 600, 1100, 3000, 9000]);
      return { name: `${count} bytes inserted at ${at}`, bytes: splice(at, 0, Buffer.alloc(count, random.pick([97, 32, 48, 58]))), truncated: false };
    }
    case 5: {
      // A bogus length: the digits of a Content-Length or a chunk size replaced.
      const text = bytes.toString("latin1");
      const lengths = [...text.matchAll(/content-length:[ \t]*(\d+)|\r\n([0-9a-fA-F]+)\r\n/gi)];
      if (lengths.length === 0) return { name: "nothing (no length)", bytes, truncated: false };
      const match = random.pick(lengths);
      const digits = match[1] ?? match[2]!;
      const from = match.index! + match[0].indexOf(digits, match[1] ? 15 : 2);
      const bogus = random.pick(["0", "1", "7fffffff", "ffffffffffff", "99999", String(random.int(5000)), random.int(5000).toString(16), `${digits}${digits}`]);
      return { name: `length ${digits} at ${from} made ${bogus}`, bytes: splice(from, digits.length, Buffer.from(bogus)), truncated: false };
    }
    case 6:
      return { name: `truncated at ${at}`, bytes: bytes.subarray(0, at), truncated: true };
    default: {
      const bit = 1 << random.int(8);
      const flipped = Buffer.from(bytes);
      if (at < flipped.length) flipped[at] = flipped[at]! ^ bit;
      return { name: `bit ${bit} of byte ${at} flipped`, bytes: flipped, truncated: false };
    }
  }
}
