// The log files a process appends to (--error-log, --access-log), reopened on SIGUSR1 after logrotate
// has moved them, as Apache's graceful restart and gunicorn's USR1 do. A new file goes onto the old
// descriptor's number (dup2), so every thread and every interpreter writing there follows at once.
import { closeSync, openSync } from "node:fs";
import { libc } from "../ffi/libc.ts";
import type { ErrorLog } from "./error-log.ts";

export interface LogFile {
  path: string;
  fd: number;
}

/** Opens `path` for appending: its descriptor, to be noted as a LogFile. */
export function openLogFile(path: string, files: LogFile[]): number {
  const fd = openSync(path, "a");
  files.push({ path, fd });
  return fd;
}

/** SIGUSR1: each file reopened at its path, said in the (new) error log; one that fails stays as it was. */
export function reopenLogs(files: LogFile[], errorLog: ErrorLog): void {
  const failures = reopenLogFiles(files);
  for (const failure of failures) errorLog.error(`Caught SIGUSR1, could not reopen a log file (still writing to the old one): ${failure}`);
  if (failures.length === 0) errorLog.notice(`Caught SIGUSR1, ${files.length ? `reopened ${files.map((file) => file.path).join(", ")}` : "no log files to reopen"}.`);
}

/** Reopens each file at its path onto its descriptor; the paths that failed, with why. */
function reopenLogFiles(files: LogFile[]): string[] {
  const failures: string[] = [];
  for (const file of files) {
    try {
      const fresh = openSync(file.path, "a");
      const moved = libc().dup2(fresh, file.fd);
      const why = moved < 0 ? libc().errorText() : "";
      closeSync(fresh);
      if (moved < 0) failures.push(`${file.path}: ${why}`);
    } catch (error) {
      failures.push((error as Error).message); // the old file stays in use
    }
  }
  return failures;
}
