// A host's CustomLogs as its requests are logged: one in Combined Log Format for every request goes to
// the combined writer (access-log.ts), which reads only its few fields; anything else is compiled once
// and written from a record of the request (log-format.ts). One file, one descriptor, whoever writes it.
import type { CustomLog } from "../config/site.ts";
import { type AccessLog, COMBINED, type FormattedLog } from "./access-log.ts";
import { compileLogFormat } from "./log-format.ts";

export interface HostAccessLogs {
  /** The combined writer's log, when that is all the host writes. */
  combined: AccessLog | null;
  /** Else every CustomLog of it. */
  formatted: FormattedLog[] | null;
}

/** Makes each host's logs; `open` gives the one AccessLog of a target (a path, or "-"). */
export function hostAccessLogs(open: (target: string) => AccessLog): (logs: CustomLog[]) => HostAccessLogs {
  return (logs) => {
    if (logs.length === 0) return { combined: null, formatted: null };
    const [first] = logs;
    if (logs.length === 1 && first!.format === COMBINED && !first!.condition) return { combined: open(first!.target), formatted: null };
    const formatted = logs.map((log) => ({ log: open(log.target), format: compileLogFormat(log.format), condition: log.condition ?? null }));
    return { combined: null, formatted };
  };
}
