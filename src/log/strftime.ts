// strftime(3) for the access log's %{FORMAT}t, in local time, as Apache's apr_strftime writes it (the
// C locale). A conversion it does not know is written as it stands, as glibc does.
import { localTime, type LocalTime } from "./local-time.ts";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const pad = (n: number, width = 2, fill = "0") => String(n).padStart(width, fill);

function yearDay(t: LocalTime): number {
  return Math.round((Date.UTC(t.year, t.month, t.day) - Date.UTC(t.year, 0, 1)) / 86_400_000);
}

/** Week of the year, weeks starting on `first` (0 Sunday, 1 Monday): %U and %W. */
function week(t: LocalTime, first: number): number {
  return Math.floor((yearDay(t) + 7 - ((t.weekday + 7 - first) % 7)) / 7);
}

function zone(t: LocalTime): string {
  const abs = Math.abs(t.offsetMinutes);
  return `${t.offsetMinutes >= 0 ? "+" : "-"}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

const CONVERSIONS: Record<string, (t: LocalTime, seconds: number) => string> = {
  a: (t) => DAYS[t.weekday]!.slice(0, 3),
  A: (t) => DAYS[t.weekday]!,
  b: (t) => MONTHS[t.month]!.slice(0, 3),
  h: (t) => MONTHS[t.month]!.slice(0, 3),
  B: (t) => MONTHS[t.month]!,
  c: (t, s) => `${CONVERSIONS.a!(t, s)} ${CONVERSIONS.b!(t, s)} ${pad(t.day, 2, " ")} ${CONVERSIONS.T!(t, s)} ${t.year}`,
  C: (t) => pad(Math.floor(t.year / 100)),
  d: (t) => pad(t.day),
  D: (t) => `${pad(t.month + 1)}/${pad(t.day)}/${pad(t.year % 100)}`,
  e: (t) => pad(t.day, 2, " "),
  F: (t) => `${t.year}-${pad(t.month + 1)}-${pad(t.day)}`,
  H: (t) => pad(t.hours),
  I: (t) => pad(t.hours % 12 || 12),
  j: (t) => pad(yearDay(t) + 1, 3),
  k: (t) => pad(t.hours, 2, " "),
  l: (t) => pad(t.hours % 12 || 12, 2, " "),
  m: (t) => pad(t.month + 1),
  M: (t) => pad(t.minutes),
  n: () => "\n",
  p: (t) => (t.hours < 12 ? "AM" : "PM"),
  r: (t) => `${pad(t.hours % 12 || 12)}:${pad(t.minutes)}:${pad(t.seconds)} ${t.hours < 12 ? "AM" : "PM"}`,
  R: (t) => `${pad(t.hours)}:${pad(t.minutes)}`,
  s: (_t, s) => String(s),
  S: (t) => pad(t.seconds),
  t: () => "\t",
  T: (t) => `${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)}`,
  u: (t) => String(t.weekday || 7),
  U: (t) => pad(week(t, 0)),
  w: (t) => String(t.weekday),
  W: (t) => pad(week(t, 1)),
  x: (t) => `${pad(t.month + 1)}/${pad(t.day)}/${pad(t.year % 100)}`,
  X: (t) => `${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)}`,
  y: (t) => pad(t.year % 100),
  Y: (t) => String(t.year),
  z: zone,
  // tm_zone is not read here: the offset names the zone (apr_strftime's struct tm has no name either).
  Z: zone,
  "%": () => "%",
};

/** A strftime format compiled once: a function of the time in ms since the epoch. */
export function strftime(format: string): (ms: number) => string {
  const parts: (string | ((t: LocalTime, seconds: number) => string))[] = [];
  let literal = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    const conversion = c === "%" && i + 1 < format.length ? CONVERSIONS[format[i + 1]!] : undefined;
    if (!conversion) {
      literal += c;
      continue;
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push(conversion);
    i++;
  }
  if (literal) parts.push(literal);
  return (ms) => {
    const t = localTime(ms);
    const seconds = Math.floor(ms / 1000);
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : part(t, seconds);
    return out;
  };
}

/** `[23/Nov/2026:20:38:53 +0000]`: %t's Common Log Format time, formatted once a second. */
export function clfTimeCache(): (ms: number) => string {
  let second = -1;
  let formatted = "";
  return (ms) => {
    const current = Math.floor(ms / 1000);
    if (current === second) return formatted;
    const t = localTime(ms);
    second = current;
    formatted = `[${pad(t.day)}/${MONTHS[t.month]!.slice(0, 3)}/${t.year}:${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)} ${zone(t)}]`;
    return formatted;
  };
}
