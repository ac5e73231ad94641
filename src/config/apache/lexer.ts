// httpd.conf's lexical rules (server/util.c): a `\` right before the newline continues the line,
// a line whose first non-blank character is `#` is a comment, and arguments are words split on
// blanks, where a word starting with `"` or `'` runs to the matching quote and `\` escapes that
// quote or a backslash. A `#` elsewhere is an ordinary character, as in Apache.
import { ConfigError, type Source } from "../diagnostics.ts";

/** One logical line: continuations joined, surrounding blanks removed, comments and blank lines dropped. */
export interface Line {
  text: string;
  /** The physical line it starts on. */
  source: Source;
}

export function logicalLines(text: string, file: string): Line[] {
  // A byte-order mark some editors write would otherwise glue itself to the first directive's name.
  const physical = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  const lines: Line[] = [];
  let pending = "";
  let startLine = 0;
  for (let i = 0; i < physical.length; i++) {
    let line = physical[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (pending === "") startLine = i + 1;
    if (line.endsWith("\\") && !line.endsWith("\\\\") && i < physical.length - 1) {
      pending += line.slice(0, -1);
      continue;
    }
    const joined = (pending + line).trim();
    pending = "";
    if (joined === "" || joined.startsWith("#")) continue;
    lines.push({ text: joined, source: { file, line: startLine } });
  }
  if (pending.trim() !== "" && !pending.trim().startsWith("#")) {
    lines.push({ text: pending.trim(), source: { file, line: startLine } });
  }
  return lines;
}

/** Splits a line's arguments as ap_getword_conf does; an unterminated quote is an error. */
export function splitWords(text: string, source: Source): string[] {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\v" || c === "\f" || c === "\r" || c === "\n";
  while (i < n) {
    while (i < n && isSpace(text[i]!)) i++;
    if (i >= n) break;
    const quote = text[i];
    let word = "";
    if (quote === '"' || quote === "'") {
      i++;
      for (;;) {
        if (i >= n) throw new ConfigError(source, `unterminated ${quote === '"' ? "double" : "single"} quote in: ${text}`);
        const c = text[i]!;
        if (c === quote) {
          i++;
          break;
        }
        if (c === "\\" && (text[i + 1] === quote || text[i + 1] === "\\")) {
          word += text[i + 1];
          i += 2;
        } else {
          word += c;
          i++;
        }
      }
    } else {
      while (i < n && !isSpace(text[i]!)) {
        if (text[i] === "\\" && text[i + 1] === "\\") {
          word += "\\";
          i += 2;
        } else {
          word += text[i];
          i++;
        }
      }
    }
    words.push(word);
  }
  return words;
}
