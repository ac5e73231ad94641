// An access log file, and its writer for Combined Log Format, the default, kept apart from the compiled
// formats (log-format.ts) so that it reads nothing but the request's few fields:
//   %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"
import { writeSync } from "node:fs";
import type { CustomLog } from "../config/site.ts";
import { STANDARD_FORMATS } from "../config/apache/directives-log.ts";
import type { CompiledFormat } from "./log-format.ts";
import { logItem } from "./log-item.ts";
import { clfTimeCache } from "./strftime.ts";

/** The combined format, as Debian's apache2.conf and the command line name it. */
export const COMBINED = STANDARD_FORMATS.find(([name]) => name === "combined")![1];

const clfTime = clfTimeCache();

const quote = (value: string | null) => (value === null ? "-" : logItem(value, true));

/** %u as mod_log_config writes it: "-" for none, `""` for an empty name, else escaped. */
const remoteUser = (user: string | null | undefined) => (user == null ? "-" : user === "" ? '""' : logItem(user, true)); // ap_escape_logitem escapes quotes anywhere

export interface AccessEntry {
  remoteAddr: string;
  /** The user Basic authentication named (%u), if any. */
  user?: string | null;
  requestLine: string;
  status: number;
  /** Bytes sent, head and body (%O). */
  bytes: number;
  referer: string | null;
  userAgent: string | null;
}

export class AccessLog {
  constructor(readonly fd: number) {}

  /** A line in Combined Log Format; `time`: when the request was received (ms). */
  write(entry: AccessEntry, time = Date.now()): void {
    this.writeLine(`${entry.remoteAddr} - ${remoteUser(entry.user)} ${clfTime(time)} "${quote(entry.requestLine)}" ${entry.status} ` +
      `${entry.bytes} "${quote(entry.referer)}" "${quote(entry.userAgent)}"\n`);
  }

  writeLine(line: string): void {
    try {
      writeSync(this.fd, line);
    } catch {
      // Logging must never fail a request.
    }
  }
}

/** One CustomLog of a host: its file, its compiled format and its env= condition. */
export interface FormattedLog {
  log: AccessLog;
  format: CompiledFormat;
  condition: CustomLog["condition"] | null;
}
