// What makes a daemon process its group's, between binding its socket and loading Python: the name
// `ps` shows (display-name=), the user and group it runs as (user=, group=, when started as root, as
// mod_wsgi does), and its working directory (home=, else that user's home directory).
import type { DaemonGroupConfig } from "../config.ts";
import { becomeAccount, resolveAccount, setProcessName } from "../ffi/privileges.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { StartupError } from "../process/startup-error.ts";

export function enterDaemonGroup(group: DaemonGroupConfig, log: ErrorLog): void {
  if (group.displayName) {
    // argv[0] (what `ps -o args` shows) was set by the supervisor when it started this process.
    process.title = group.displayName;
    setProcessName(group.displayName);
  }
  let home = group.home;
  if (group.user !== undefined || group.group !== undefined) {
    if (process.getuid?.() !== 0) {
      log.notice(`Daemon process group '${group.name}': user=/group= ignored: wsgi-bin was not started as root.`);
    } else {
      let account;
      try {
        account = resolveAccount(group.user, group.group);
        becomeAccount(account);
      } catch (error) {
        throw new StartupError(`daemon process group '${group.name}': ${(error as Error).message}`);
      }
      home ??= account.home;
      log.info(`Daemon process ${process.pid} of group '${group.name}' runs as uid ${process.getuid?.()}, gid ${process.getgid?.()}.`);
    }
  }
  if (home === undefined) return;
  try {
    process.chdir(home);
  } catch (error) {
    // home= must hold; a user's home directory (often /nonexistent for service users) need not.
    if (group.home !== undefined) throw new StartupError(`daemon process group '${group.name}': home=${home}: ${(error as Error).message}`);
    log.info(`Daemon process group '${group.name}': no home directory to start in (${home}): staying in ${process.cwd()}.`);
  }
}
