// What makes a daemon process its group's, once its socket is bound and it runs as its user (user=,
// group=, else the server's User/Group: process/privileges.ts), before Python loads: the name `ps`
// shows (display-name=) and its working directory (home=, else that user's home directory, as mod_wsgi).
import type { DaemonGroupConfig } from "../config.ts";
import { libc } from "../ffi/libc.ts";
import type { ErrorLog } from "../log/error-log.ts";
import type { Identity } from "../process/privileges.ts";
import { StartupError } from "../process/startup-error.ts";

export function enterDaemonGroup(group: DaemonGroupConfig, identity: Identity | null, log: ErrorLog): void {
  if (group.displayName) {
    // argv[0] (what `ps -o args` shows) was set by the supervisor when it started this process.
    process.title = group.displayName;
    libc().setProcessName(group.displayName);
  }
  if (group.user !== undefined && identity === null) {
    log.notice(`Daemon process group '${group.name}': user=${group.user} ignored: wsgi-bin was not started as root (as mod_wsgi).`);
  }
  const home = group.home ?? (group.user !== undefined ? identity?.home : undefined);
  if (home === undefined) return;
  try {
    process.chdir(home);
  } catch (error) {
    // home= must hold; a user's home directory (often /nonexistent for service users) need not.
    if (group.home !== undefined) throw new StartupError(`daemon process group '${group.name}': home=${home}: ${(error as Error).message}`);
    log.info(`Daemon process group '${group.name}': no home directory to start in (${home}): staying in ${process.cwd()}.`);
  }
}
