// Apache's ap_escape_logitem, for what a client can put in a log line: a path's %0a must not start a
// line of its own, nor its %1b reach the terminal that shows the log.
const NAMED: Record<string, string> = { "\b": "\\b", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"' };
const hex = (byte: number) => `\\x${byte.toString(16).padStart(2, "0")}`;

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? hex(code) : [...Buffer.from(c, "utf8")].map(hex).join(""));
}

/**
 * `\` escaped, \b \n \r \t \v by name, any other byte outside printable ASCII as \xhh; with `quotes`,
 * `"` too (the access log's quoted fields; the error log leaves it, as Apache's). Values are latin-1
 * strings, a character a byte (a wider one: its UTF-8 bytes).
 */
export function logItem(value: string, quotes = false): string {
  return value.replace(quotes ? /[^\x20-\x7e]|["\\]/g : /[^\x20-\x7e]|\\/g, escape);
}

/** A file system path (text, not bytes) as logItem escapes its UTF-8 bytes: ü is \xc3\xbc, as in Apache. */
export function logPath(path: string): string {
  return logItem(/[^\x20-\x7e]/.test(path) ? Buffer.from(path, "utf8").toString("latin1") : path);
}
