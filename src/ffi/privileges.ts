// The libc calls a daemon process needs to become its group's user= and group= (when the server was
// started as root) and to show its display-name= in `ps`. Minimal: bound on first use, names looked up
// through the C library (so NSS sources count, as for Apache's User and Group).
import koffi from "./koffi.ts";

const Passwd = koffi.struct("wsgi_bin_passwd", {
  pw_name: "char *", pw_passwd: "char *", pw_uid: "uint32_t", pw_gid: "uint32_t", pw_gecos: "char *", pw_dir: "char *", pw_shell: "char *",
});
const Group = koffi.struct("wsgi_bin_group", { gr_name: "char *", gr_passwd: "char *", gr_gid: "uint32_t", gr_mem: "void *" });

const PR_SET_NAME = 15;

function bind() {
  const libc = koffi.load("libc.so.6");
  return {
    getpwnam: libc.func("void *getpwnam(const char *name)") as (name: string) => unknown,
    getpwuid: libc.func("void *getpwuid(uint32_t uid)") as (uid: number) => unknown,
    getgrnam: libc.func("void *getgrnam(const char *name)") as (name: string) => unknown,
    getgrgid: libc.func("void *getgrgid(uint32_t gid)") as (gid: number) => unknown,
    initgroups: libc.func("int initgroups(const char *user, uint32_t group)") as (user: string, gid: number) => number,
    setgroups: libc.func("int setgroups(size_t size, const uint32_t *list)") as (size: number, list: number[]) => number,
    setgid: libc.func("int setgid(uint32_t gid)") as (gid: number) => number,
    setuid: libc.func("int setuid(uint32_t uid)") as (uid: number) => number,
    prctl: libc.func("int prctl(int option, const char *name, unsigned long a3, unsigned long a4, unsigned long a5)") as
      (option: number, name: string, a3: number, a4: number, a5: number) => number,
    strerror: libc.func("const char *strerror(int errnum)") as (errnum: number) => string,
  };
}

let bound: ReturnType<typeof bind> | null = null;
const libc = () => (bound ??= bind());

export interface Account {
  uid?: number;
  gid?: number;
  /** The user's name and home directory, when the system knows the user. */
  userName?: string;
  home?: string;
}

/** user= and group= (a name or #id) as ids; throws with a clear message for an unknown name. */
export function resolveAccount(user: string | undefined, group: string | undefined): Account {
  const account: Account = {};
  const c = libc();
  if (user !== undefined) {
    const byId = user.startsWith("#");
    const entry = byId ? c.getpwuid(Number(user.slice(1))) : c.getpwnam(user);
    if (entry) {
      const passwd = koffi.decode(entry, Passwd) as { pw_name: string; pw_uid: number; pw_gid: number; pw_dir: string };
      Object.assign(account, { uid: passwd.pw_uid, gid: passwd.pw_gid, userName: passwd.pw_name, home: passwd.pw_dir });
    } else if (byId) account.uid = Number(user.slice(1));
    else throw new Error(`user=${user}: no such user`);
  }
  if (group !== undefined) {
    if (group.startsWith("#")) account.gid = Number(group.slice(1));
    else {
      const entry = c.getgrnam(group);
      if (!entry) throw new Error(`group=${group}: no such group`);
      account.gid = (koffi.decode(entry, Group) as { gr_gid: number }).gr_gid;
    }
  }
  if (account.uid !== undefined && account.gid === undefined) throw new Error(`user=${user} has no entry in the user database: give group= too`);
  if (account.uid === 0) throw new Error(`user=${user}: a daemon process group may not run as root`);
  return account;
}

/** Becomes the account: supplementary groups, then the group, then the user (after which there is no way back). */
export function becomeAccount(account: Account): void {
  const c = libc();
  const check = (result: number, what: string) => {
    if (result !== 0) throw new Error(`${what} failed: ${c.strerror(koffi.errno())}`);
  };
  if (account.gid !== undefined) {
    if (account.userName !== undefined) check(c.initgroups(account.userName, account.gid), `initgroups(${account.userName}, ${account.gid})`);
    else check(c.setgroups(1, [account.gid]), `setgroups(${account.gid})`);
    check(c.setgid(account.gid), `setgid(${account.gid})`);
  }
  if (account.uid !== undefined) check(c.setuid(account.uid), `setuid(${account.uid})`);
}

/** The name `ps -o comm`, top and /proc/PID/comm show (15 bytes at most; `ps -o args` shows argv[0]). */
export function setProcessName(name: string): void {
  libc().prctl(PR_SET_NAME, name.slice(0, 15), 0, 0, 0);
}
