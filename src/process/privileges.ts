// --user / --group (Apache's User and Group). Started as root, each serving process binds its port
// first, then becomes the user and group (supplementary groups, gid, uid: the order Apache's unixd
// uses) before Python starts, so no application code ever runs as root. Checked afterwards thread by
// thread. Started as root without --user, the application does run as root, and the log says so.
import { readdirSync, readFileSync } from "node:fs";
import { libc, type PasswdEntry } from "../ffi/libc.ts";
import type { ErrorLog } from "../log/error-log.ts";

export class PrivilegeError extends Error {}

export interface Identity {
  user: string;
  uid: number;
  group: string;
  gid: number;
  /** In the user database: its supplementary groups apply (initgroups); else only `gid`. */
  known: boolean;
  /** Its home directory, when the user database knows the user. */
  home?: string;
}

/** What the user and group were given as, for messages ("--user " or a daemon group's "user="). */
export interface IdentityNames {
  user: string;
  group: string;
}

const FLAGS: IdentityNames = { user: "--user ", group: "--group " };

/** `#N` is a numeric id, as in Apache's User/Group; anything else a name. */
function numeric(spec: string): number | null {
  if (!spec.startsWith("#")) return null;
  const id = Number(spec.slice(1));
  if (!/^#\d+$/.test(spec) || id > 0xfffffffe) throw new PrivilegeError(`'${spec}' is not a numeric id (#0 to #4294967294)`);
  return id;
}

/** --user and --group resolved through the system's user database; null without --user. */
export function resolveIdentity(user: string | undefined, group: string | undefined, names = FLAGS): Identity | null {
  if (user === undefined) return null;
  const c = libc();
  const uid = numeric(user);
  const entry: PasswdEntry | null = uid === null ? c.userByName(user) : c.userById(uid);
  if (!entry && uid === null) throw new PrivilegeError(`${names.user}${user}: no such user`);
  let gid: number;
  let groupName: string;
  if (group !== undefined) {
    const id = numeric(group);
    const found = id === null ? c.groupByName(group) : c.groupById(id);
    if (!found && id === null) throw new PrivilegeError(`${names.group}${group}: no such group`);
    gid = found?.gid ?? id!;
    groupName = found?.name ?? group;
  } else {
    if (!entry) throw new PrivilegeError(`${names.user}${user}: no such user in the user database, so no primary group: give ${names.group.trim()} too`);
    gid = entry.gid;
    groupName = c.groupById(gid)?.name ?? `#${gid}`;
  }
  return { user: entry?.name ?? user, uid: entry?.uid ?? uid!, group: groupName, gid, known: entry !== null, home: entry?.home };
}

/**
 * Before anything is bound: --user needs root to switch to it (or nothing to switch: already that
 * user and group). Throws a PrivilegeError saying what to do.
 */
export function checkPrivileges(identity: Identity | null): void {
  if (!identity) return;
  const c = libc();
  const euid = c.geteuid();
  if (euid === 0 || (euid === identity.uid && c.getegid() === identity.gid)) return;
  const self = c.userById(euid)?.name;
  throw new PrivilegeError(
    `--user ${identity.user}: only root can switch to another user, and wsgi-bin runs as uid ${euid}${self ? ` (${self})` : ""}. ` +
      `Start it as root (it binds the port, then becomes ${identity.user} before Python starts), or leave --user and --group out to run as uid ${euid}.`,
  );
}

/** The user, group and supplementary group ids of every thread of this process (Linux /proc). */
function threadIds(): { task: string; uids: number[]; gids: number[]; groups: number[] }[] {
  return readdirSync("/proc/self/task").map((task) => {
    const status = readFileSync(`/proc/self/task/${task}/status`, "latin1");
    const ids = (field: string) => (new RegExp(`^${field}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "").split(/\s+/).filter(Boolean).map(Number);
    return { task, uids: ids("Uid"), gids: ids("Gid"), groups: ids("Groups") };
  });
}

/** Every thread runs as the identity, for good: real, effective, saved and filesystem ids, and root cannot come back. */
function verify(identity: Identity): void {
  const c = libc();
  for (const thread of threadIds()) {
    if (thread.uids.some((id) => id !== identity.uid) || thread.gids.some((id) => id !== identity.gid) ||
      (identity.gid !== 0 && thread.groups.includes(0))) {
      throw new PrivilegeError(`thread ${thread.task} still has uids ${thread.uids.join(",")}, gids ${thread.gids.join(",")}, groups ${thread.groups.join(",")} after dropping privileges`);
    }
  }
  if (c.getresuid().some((id) => id !== identity.uid) || c.getresgid().some((id) => id !== identity.gid)) {
    throw new PrivilegeError(`the process still has uids ${c.getresuid().join(",")}, gids ${c.getresgid().join(",")} after dropping privileges`);
  }
  if (c.setuid(0) === 0) throw new PrivilegeError("setuid(0) succeeded after dropping privileges: root could come back");
}

/**
 * After the port is bound and the logs are open, before Python starts: become the --user and
 * --group. As root without --user, say in the log what runs as root: the application, or (`python`
 * false: a front whose aliases all run in daemon groups) only the HTTP layer. `bound` names what was
 * bound ("port 80"). Returns the identity taken, if any.
 */
export function dropPrivileges(config: { user?: string; group?: string }, log: ErrorLog, bound: string, python = true): Identity | null {
  const c = libc();
  if (c.geteuid() !== 0) return null; // not root: --user was checked at start-up (nothing to switch)
  const identity = resolveIdentity(config.user, config.group);
  if (!identity) {
    log.warn(
      (python
        ? "Running as root without --user: the Python application runs as root (uid 0), and so does anything it is made to do. "
        : "Running as root without --user: this process runs no Python, but reads what clients send as root (uid 0). ") +
        "Give --user NAME (and --group NAME), as Apache's User and Group, to run it unprivileged once the port is bound; see docs/security.md.",
    );
    return null;
  }
  const fail = (call: string) => {
    throw new PrivilegeError(`--user ${identity.user}: ${call} failed: ${c.errorText()}`);
  };
  if ((identity.known ? c.initgroups(identity.user, identity.gid) : c.setgroups(1, [identity.gid])) !== 0) {
    fail(identity.known ? `initgroups(${identity.user}, ${identity.gid})` : `setgroups(${identity.gid})`);
  }
  if (c.setgid(identity.gid) !== 0) fail(`setgid(${identity.gid})`);
  if (identity.uid === 0) {
    log.warn(`--user ${identity.user}: the Python application runs as root (uid 0), as asked.`);
    return identity;
  }
  if (c.setuid(identity.uid) !== 0) fail(`setuid(${identity.uid})`);
  verify(identity);
  const groups = threadIds()[0]!.groups;
  log.notice(
    `Dropped root privileges after binding ${bound}: now user '${identity.user}' (uid ${identity.uid}), group '${identity.group}' ` +
      `(gid ${identity.gid})${groups.length ? `, supplementary groups ${groups.join(",")}` : ""}; Python and the applications run as them.`,
  );
  return identity;
}
