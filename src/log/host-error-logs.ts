// Each virtual host's own error log (its ErrorLog and LogLevel, else the main server's), as Apache
// gives every server record its own: a file is opened once however many hosts name it (noted in
// `files`, so SIGUSR1 reopens it), and a host's ErrorLog object is picked once, when the host is set
// up, never per request.
import { ErrorLog } from "./error-log.ts";
import { levelNumber } from "./levels.ts";
import { openLogFile, type LogFile } from "./log-files.ts";

export type HostErrorLogs = (path: string | undefined, level: string) => ErrorLog;

/** Error logs by path and level, sharing `main`'s descriptor for its own path; no path is stderr. */
export function hostErrorLogs(main: ErrorLog, mainPath: string | undefined, files: LogFile[]): HostErrorLogs {
  const fds = new Map<string | undefined, number>([[mainPath, main.fd]]);
  const logs = new Map<string, ErrorLog>();
  return (path, level) => {
    let fd = fds.get(path);
    if (fd === undefined) fds.set(path, (fd = path === undefined ? 2 : openLogFile(path, files)));
    const number = levelNumber(level);
    if (fd === main.fd && number === main.level) return main;
    const key = `${fd} ${number}`;
    let log = logs.get(key);
    if (!log) logs.set(key, (log = new ErrorLog(fd, number)));
    return log;
  };
}
