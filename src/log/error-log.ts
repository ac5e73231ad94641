// Apache's error log format, `[time] [wsgi:level] [pid N:tid N] message`, written with one write(2)
// per line to a shared file descriptor, so the main thread, the workers and Python's own log lines
// (which format themselves the same way, see src/python/adapter.py) never interleave within a line.
import { writeSync } from "node:fs";
import koffi from "../ffi/koffi.ts";
import { LEVELS, type LevelName } from "./levels.ts";
import { localTime, wallClock } from "./local-time.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `Mon Nov 23 20:38:53.123456 2026`, as Apache 2.4 writes it (local time). */
export function apacheTime(): string {
  const clock = wallClock();
  const t = localTime(clock.seconds * 1000);
  const micros = pad(clock.micros, 6);
  return `${DAYS[t.weekday]} ${MONTHS[t.month]} ${pad(t.day)} ${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)}.${micros} ${t.year}`;
}

let threadId: number | null = null;
export function currentThreadId(): number {
  threadId ??= (koffi.load("libc.so.6").func("int gettid()") as () => number)();
  return threadId;
}

export class ErrorLog {
  constructor(readonly fd: number, readonly level: number) {}

  write(level: LevelName, message: string): void {
    const number = LEVELS.indexOf(level);
    if (number > this.level) return;
    const lines = message.replace(/\n+$/, "").split("\n");
    const prefix = `[${apacheTime()}] [wsgi:${level}] [pid ${process.pid}:tid ${currentThreadId()}] `;
    try {
      writeSync(this.fd, lines.map((line) => prefix + line + "\n").join(""));
    } catch {
      // A full disk or closed stderr must never take a request down with it.
    }
  }

  error(message: string): void { this.write("error", message); }
  warn(message: string): void { this.write("warn", message); }
  notice(message: string): void { this.write("notice", message); }
  info(message: string): void { this.write("info", message); }
  debug(message: string): void { this.write("debug", message); }
}
