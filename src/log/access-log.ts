// The access log in Combined Log Format:
//   %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
import { writeSync } from "node:fs";
import { localTime } from "./local-time.ts";
import { logItem } from "./log-item.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** `[23/Nov/2026:20:38:53 +0000]`, local time with its offset; formatted once a second. */
let second = -1;
let formatted = "";
function clfTime(ms: number): string {
  const current = Math.floor(ms / 1000);
  if (current === second) return formatted;
  const t = localTime(ms);
  const offset = t.offsetMinutes;
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  second = current;
  formatted = `[${pad(t.day)}/${MONTHS[t.month]}/${t.year}:${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)} ${zone}]`;
  return formatted;
}

const quote = (value: string | null) => (value === null ? "-" : logItem(value, true));

/** %u as mod_log_config writes it: "-" for none, `""` for an empty name, else escaped. */
const remoteUser = (user: string | null | undefined) => (user == null ? "-" : user === "" ? '""' : logItem(user, true)); // ap_escape_logitem escapes quotes anywhere

export interface AccessEntry {
  remoteAddr: string;
  /** The user Basic authentication named (%u), if any. */
  user?: string | null;
  requestLine: string;
  status: number;
  bytes: number;
  referer: string | null;
  userAgent: string | null;
}

export class AccessLog {
  constructor(private readonly fd: number) {}

  write(entry: AccessEntry, time = Date.now()): void {
    const line = `${entry.remoteAddr} - ${remoteUser(entry.user)} ${clfTime(time)} "${quote(entry.requestLine)}" ${entry.status} ` +
      `${entry.bytes > 0 ? entry.bytes : "-"} "${quote(entry.referer)}" "${quote(entry.userAgent)}"\n`;
    try {
      writeSync(this.fd, line);
    } catch {
      // Logging must never fail a request.
    }
  }
}
