// Local time for the log lines, from the C library's localtime_r. JavaScriptCore's first local-time
// Date call (getHours and the like) loads ICU's time zone data: ~4 ms, paid by the first log line of
// every start, on the way to the first response. localtime_r reads /etc/localtime (or $TZ) once.
// The clock itself, to the microsecond as Apache's error log has it, is clock_gettime's: Date has
// milliseconds only, and performance.now() is not the wall clock.
import koffi from "../ffi/koffi.ts";

const Timespec = koffi.struct("wsgi_bin_timespec", { tv_sec: "int64_t", tv_nsec: "long" });
const CLOCK_REALTIME = 0;
type ClockGettime = (clock: number, result: object) => number;
let clockGettime: ClockGettime | null = null;

/** The wall clock: whole seconds since the epoch and the microseconds past them. */
export function wallClock(): { seconds: number; micros: number } {
  clockGettime ??= koffi.load("libc.so.6").func("clock_gettime", "int", ["int", koffi.out(koffi.pointer(Timespec))]) as ClockGettime;
  const ts = { tv_sec: 0, tv_nsec: 0 };
  clockGettime(CLOCK_REALTIME, ts);
  return { seconds: Number(ts.tv_sec), micros: Math.floor(ts.tv_nsec / 1000) };
}

const Tm = koffi.struct("wsgi_bin_tm", {
  tm_sec: "int", tm_min: "int", tm_hour: "int", tm_mday: "int", tm_mon: "int", tm_year: "int",
  tm_wday: "int", tm_yday: "int", tm_isdst: "int", tm_gmtoff: "long", tm_zone: "void *",
});

export interface LocalTime {
  year: number;
  /** 0 to 11. */
  month: number;
  day: number;
  /** 0 is Sunday. */
  weekday: number;
  hours: number;
  minutes: number;
  seconds: number;
  /** East of UTC. */
  offsetMinutes: number;
}

type Fields = { tm_sec: number; tm_min: number; tm_hour: number; tm_mday: number; tm_mon: number; tm_year: number; tm_wday: number; tm_gmtoff: number };
type LocaltimeR = (time: number[], result: object) => unknown;
let localtime: LocaltimeR | null = null;

/** The local time of `ms` (milliseconds since the epoch), to the second. */
export function localTime(ms: number): LocalTime {
  localtime ??= koffi.load("libc.so.6").func("localtime_r", "void *", ["int64_t *", koffi.out(koffi.pointer(Tm))]) as LocaltimeR;
  const tm = {} as Fields;
  localtime([Math.floor(ms / 1000)], tm);
  return {
    year: tm.tm_year + 1900, month: tm.tm_mon, day: tm.tm_mday, weekday: tm.tm_wday,
    hours: tm.tm_hour, minutes: tm.tm_min, seconds: tm.tm_sec, offsetMinutes: Math.round(tm.tm_gmtoff / 60),
  };
}
