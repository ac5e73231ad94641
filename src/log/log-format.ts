// mod_log_config's format strings, compiled once at start into pieces (literal text, and a function per
// %-directive) that write one access log line per request from a LogRecord. Parsing follows Apache
// 2.4's parse_log_item: `%!400,501<{arg}X`, status conditions, the `<`/`>` modifiers, `\n \t \r \\`
// in the literal text; an unknown letter refuses the format with Apache's own words.
import { currentThreadId } from "./error-log.ts";
import { logItem } from "./log-item.ts";
import type { LogRecord } from "./log-record.ts";
import { clfTimeCache, strftime } from "./strftime.ts";

/** What one directive writes; null is "-". */
type Item = (r: LogRecord) => string | null;
export type LogPiece = string | ((r: LogRecord) => string);

export interface CompiledFormat {
  /** The line's pieces, its ending "\n" included. */
  pieces: LogPiece[];
  /** Directives wsgi-bin cannot know, written as "-": each as written (`%{X}^ti`), to be warned of. */
  unsupported: string[];
}

export class LogFormatError extends Error {}

const escape = (value: string | null | undefined): string | null => (value == null ? null : logItem(value, true));

/** A request header, repeats joined with ", " as Apache merges them into one; null when absent. */
function requestHeader(r: LogRecord, lowerName: string): string | null {
  const headers = r.head?.headers;
  if (!headers) return null;
  let value: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== lowerName) continue;
    value = value === null ? headers[i + 1]! : `${value}, ${headers[i + 1]}`;
  }
  return value;
}

/** A response header as mod_log_config's log_header_out reads it: Content-Type without parameters, Set-Cookie's repeats joined. */
function responseHeader(r: LogRecord, lowerName: string): string | null {
  const fields = r.responseFields;
  if (!fields) return null;
  let value: string | null = null;
  for (let i = 1; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toLowerCase() !== lowerName) continue;
    if (lowerName === "set-cookie") value = value === null ? fields[i + 1]! : `${value}, ${fields[i + 1]}`;
    else return lowerName === "content-type" ? fields[i + 1]!.replace(/\s*;.*$/s, "") : fields[i + 1]!;
  }
  return value;
}

/** %{NAME}C: the first Cookie header's cookie of that name (case ignored), trimmed, as log_cookie finds it. */
function cookie(r: LogRecord, name: string): string | null {
  const headers = r.head?.headers;
  if (!headers) return null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== "cookie") continue;
    for (const part of headers[i + 1]!.split(";")) {
      const equals = part.indexOf("=");
      if (equals <= 0 || equals === part.length - 1) continue; // a name and a value, or not a cookie
      if (part.slice(0, equals).trim().toLowerCase() === name.toLowerCase()) return part.slice(equals + 1).trim();
    }
    return null; // apr_table_get: the first Cookie header only
  }
  return null;
}

/** A request variable's value (the last given; Apache's tables ignore case): %{VAR}e and CustomLog env=. */
export function envValue(env: readonly string[], lowerName: string): string | null {
  let value: string | null = null;
  for (let i = 0; i + 1 < env.length; i += 2) if (env[i]!.toLowerCase() === lowerName) value = env[i + 1]!;
  return value;
}

const duration = (r: LogRecord) => Math.max(r.ended - r.started, 0);

/** %{...}t: Apache's forms: begin or end (with `:FORMAT`), sec, msec, usec, msec_frac, usec_frac, else strftime. */
function timeItem(arg: string): Item {
  let format = arg;
  let end = false;
  let clf = arg === "";
  if (format.startsWith("begin")) {
    format = format.slice(5);
    if (format === "") clf = true;
    else if (format.startsWith(":")) format = format.slice(1);
  } else if (format.startsWith("end")) {
    format = format.slice(3);
    if (format === "") clf = end = true;
    else if (format.startsWith(":")) {
      format = format.slice(1);
      end = true;
    }
  }
  const at = end ? (r: LogRecord) => r.ended : (r: LogRecord) => r.started;
  switch (format) {
    case "sec": return (r) => String(Math.floor(at(r) / 1e6));
    case "msec": return (r) => String(Math.floor(at(r) / 1e3));
    case "usec": return (r) => String(at(r));
    case "msec_frac": return (r) => String(Math.floor(at(r) / 1e3) % 1000).padStart(3, "0");
    case "usec_frac": return (r) => String(at(r) % 1e6).padStart(6, "0");
  }
  if (clf) {
    const clfTime = clfTimeCache();
    return (r) => clfTime(at(r) / 1000);
  }
  const formatted = strftime(format);
  return (r) => formatted(at(r) / 1000);
}

/** The directives by letter: each makes its item from its {argument}. */
const DIRECTIVES: Record<string, (arg: string) => Item> = {
  a: () => (r) => r.remoteAddr, // %{c}a alike: no mod_remoteip, the peer is the client
  A: () => (r) => r.localAddr,
  B: () => (r) => String(r.bytes),
  b: () => (r) => (r.bytes > 0 ? String(r.bytes) : null),
  C: (arg) => (r) => escape(cookie(r, arg)),
  D: () => (r) => String(duration(r)),
  e: (arg) => {
    const name = arg.toLowerCase();
    return (r) => escape(envValue(r.env(), name));
  },
  f: () => (r) => escape(r.filename),
  h: () => (r) => escape(r.remoteAddr),
  H: () => (r) => escape(r.head?.protocol),
  i: (arg) => {
    const name = arg.toLowerCase();
    return (r) => escape(requestHeader(r, name));
  },
  k: () => (r) => String(r.keepAlives),
  l: () => () => null, // IdentityCheck is not implemented: no remote logname
  L: () => (r) => r.logId, // the error log does not show it (Apache's ErrorLogFormat %L does)
  m: () => (r) => escape(r.head?.method),
  n: () => () => null, // no module notes
  o: (arg) => {
    const name = arg.toLowerCase();
    return (r) => escape(responseHeader(r, name));
  },
  p: (arg) => {
    const which = arg.toLowerCase();
    if (which === "" || which === "canonical") return (r) => r.canonicalPort;
    if (which === "local") return (r) => String(r.localPort);
    if (which === "remote") return (r) => String(r.remotePort);
    return () => arg; // Apache writes a format it does not know as it stands
  },
  P: (arg) => {
    if (arg === "" || arg === "pid") return () => String(process.pid);
    if (arg === "hexpid") return () => process.pid.toString(16);
    if (arg === "tid") return () => String(currentThreadId());
    if (arg === "hextid") return () => currentThreadId().toString(16);
    return () => arg;
  },
  q: () => (r) => (r.query === null ? "" : `?${logItem(r.query, true)}`),
  r: () => (r) => escape(r.requestLine),
  R: () => (r) => escape(r.handler),
  s: () => (r) => (r.status > 0 ? String(r.status) : null),
  t: timeItem,
  T: (arg) => {
    const unit = arg.toLowerCase();
    if (unit === "" || unit === "s") return (r) => String(Math.floor(duration(r) / 1e6));
    if (unit === "ms") return (r) => String(Math.floor(duration(r) / 1e3));
    if (unit === "us") return (r) => String(duration(r));
    return () => arg;
  },
  u: () => (r) => (r.user == null ? null : r.user === "" ? '""' : logItem(r.user, true)),
  U: () => (r) => escape(r.path),
  v: () => (r) => escape(r.serverName),
  V: () => (r) => escape(r.requestServerName),
  X: () => (r) => r.connectionStatus,
  I: () => (r) => String(r.requestBytes),
  O: () => (r) => String(r.headBytes + r.bytes),
  S: () => (r) => String(r.requestBytes + r.headBytes + r.bytes),
};

/** mod_log_config's two-letter tags: request and response trailers (wsgi-bin keeps none of them). */
const TRAILERS = new Set(["^ti", "^to"]);

/** Literal text up to the next %, with Apache's backslash escapes. */
function literalText(format: string, from: number): [text: string, end: number] {
  let text = "";
  let i = from;
  while (i < format.length && format[i] !== "%") {
    const c = format[i]!;
    if (c !== "\\") {
      text += c;
      i++;
      continue;
    }
    const next = format[i + 1];
    const escaped = next === "\\" ? "\\" : next === "r" ? "\r" : next === "n" ? "\n" : next === "t" ? "\t" : null;
    if (escaped === null) {
      text += "\\"; // copied verbatim, the next character read as any other
      i++;
    } else {
      text += escaped;
      i += 2;
    }
  }
  return [text, i];
}

/** Formats compiled so far: the configuration's check, its warnings and the hosts' logs all ask for them. */
const compiledFormats = new Map<string, CompiledFormat>();

/** A format compiled (once per distinct format); a LogFormatError says what Apache would refuse it for. */
export function compileLogFormat(format: string): CompiledFormat {
  let compiled = compiledFormats.get(format);
  if (!compiled) compiledFormats.set(format, (compiled = compile(format)));
  return compiled;
}

function compile(format: string): CompiledFormat {
  const pieces: LogPiece[] = [];
  const unsupported: string[] = [];
  let literal = "";
  let i = 0;
  while (i < format.length) {
    if (format[i] !== "%") {
      const [text, end] = literalText(format, i);
      literal += text;
      i = end;
      continue;
    }
    const start = i++;
    if (format[i] === "%") {
      literal += "%";
      i++;
      continue;
    }
    let negated = false;
    let arg = "";
    const statuses: number[] = [];
    let directive: string | null = null;
    while (i < format.length && directive === null) {
      const c = format[i]!;
      if (c === "!") negated = !negated, i++;
      else if (c === "<" || c === ">" || c === ",") i++; // no internal redirects: the original request is the final one
      else if (c === "{") {
        const close = format.indexOf("}", i + 1);
        arg = format.slice(i + 1, close < 0 ? format.length : close);
        i = close < 0 ? format.length : close + 1;
      } else if (c >= "0" && c <= "9") {
        let n = 0;
        while (i < format.length && format[i]! >= "0" && format[i]! <= "9") n = n * 10 + Number(format[i++]);
        statuses.push(n);
      } else if (c === "^" && i + 2 < format.length && TRAILERS.has(format.slice(i, i + 3))) {
        directive = format.slice(i, i + 3);
        i += 3;
      } else {
        directive = c;
        i++;
      }
    }
    if (directive === null) throw new LogFormatError("Ran off end of LogFormat parsing args to some directive");
    let item: Item;
    if (TRAILERS.has(directive)) {
      unsupported.push(format.slice(start, i));
      item = () => null;
    } else {
      const make = DIRECTIVES[directive];
      if (!make) throw new LogFormatError(`Unrecognized LogFormat directive %${directive}`);
      item = make(arg);
    }
    if (literal) pieces.push(literal);
    literal = "";
    pieces.push(conditioned(item, statuses, negated));
  }
  pieces.push(literal + "\n");
  return { pieces, unsupported };
}

/** `%400,501{X}i` writes only for those statuses, `%!200,304{X}i` only for others: "-" otherwise. */
function conditioned(item: Item, statuses: number[], negated: boolean): (r: LogRecord) => string {
  if (statuses.length === 0) return (r) => item(r) ?? "-";
  return (r) => (statuses.includes(r.status) === negated ? "-" : item(r) ?? "-");
}

/** One line of a compiled format. */
export function formatLine(format: CompiledFormat, record: LogRecord): string {
  let line = "";
  for (const piece of format.pieces) line += typeof piece === "string" ? piece : piece(record);
  return line;
}
