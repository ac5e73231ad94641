// What reading a configuration found wrong: errors stop it (the server does not start), warnings are
// reported with where they come from and, under --strict, become errors too.
import { relative } from "node:path";

/** Where a directive was written: its file and (first) line; line 0 is the command line, `file` the flag. */
export interface Source {
  file: string;
  line: number;
}

/** A directive given by a command-line flag: reported as the flag (`--redirect`). */
export function flagSource(flag: string): Source {
  return { file: flag, line: 0 };
}

export class ConfigError extends Error {
  constructor(readonly source: Source | undefined, readonly problem: string) {
    super(source ? `${describeSource(source)}: ${problem}` : problem);
  }
}

export interface Warning {
  source?: Source;
  message: string;
}

/** Collects warnings in the order they are found. */
export class Diagnostics {
  readonly warnings: Warning[] = [];

  warn(source: Source | undefined, message: string): void {
    this.warnings.push({ source, message });
  }
}

/** `conf/site.conf:12`, relative to the working directory when that is shorter. */
export function describeSource(source: Source, cwd = process.cwd()): string {
  if (source.line === 0) return source.file;
  const rel = relative(cwd, source.file);
  const file = rel && !rel.startsWith("../") && rel.length < source.file.length ? rel : source.file;
  return `${file}:${source.line}`;
}

export function formatWarning(warning: Warning): string {
  return warning.source ? `${describeSource(warning.source)}: ${warning.message}` : warning.message;
}
