// The slice of the C library wsgi-bin calls: the environment (PYTHONHOME for Python's start) and the
// process's identity (--user/--group: user and group lookup through NSS, setgroups, setgid, setuid),
// the name a daemon process shows in `ps` (display-name=), a socket's duplicate descriptor for a
// worker reading a request body itself, and a log file reopened onto its descriptor (SIGUSR1).
// glibc's set*id calls change every thread of the process, not only the caller.
import koffi from "./koffi.ts";

const Passwd = koffi.struct("passwd", {
  pw_name: "char *", pw_passwd: "char *", pw_uid: "uint32_t", pw_gid: "uint32_t", pw_gecos: "char *", pw_dir: "char *", pw_shell: "char *",
});
const Group = koffi.struct("group", { gr_name: "char *", gr_passwd: "char *", gr_gid: "uint32_t", gr_mem: "void *" });

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

function bind() {
  const lib = koffi.load("libc.so.6");
  const f = (decl: string) => lib.func(decl);
  const getpwnam = f("passwd *getpwnam(const char *name)");
  const getpwuid = f("passwd *getpwuid(uint32_t uid)");
  const getgrnam = f("group *getgrnam(const char *name)");
  const getgrgid = f("group *getgrgid(uint32_t gid)");
  const getresuid = f("int getresuid(_Out_ uint32_t *r, _Out_ uint32_t *e, _Out_ uint32_t *s)");
  const getresgid = f("int getresgid(_Out_ uint32_t *r, _Out_ uint32_t *e, _Out_ uint32_t *s)");
  const strerror = f("const char *strerror(int errnum)") as (errnum: number) => string;
  const passwd = (entry: unknown): PasswdEntry | null => {
    if (entry === null) return null;
    const { pw_name, pw_uid, pw_gid, pw_dir } = koffi.decode(entry, Passwd) as { pw_name: string; pw_uid: number; pw_gid: number; pw_dir: string };
    return { name: pw_name, uid: pw_uid, gid: pw_gid, home: pw_dir };
  };
  const group = (entry: unknown): GroupEntry | null => {
    if (entry === null) return null;
    const { gr_name, gr_gid } = koffi.decode(entry, Group) as { gr_name: string; gr_gid: number };
    return { name: gr_name, gid: gr_gid };
  };
  const triple = (call: (r: number[], e: number[], s: number[]) => number): [number, number, number] => {
    const [r, e, s] = [[0], [0], [0]];
    if (call(r, e, s) !== 0) throw new Error(`getres*id: ${strerror(koffi.errno())}`);
    return [r[0]!, e[0]!, s[0]!];
  };
  return {
    setenv: f("int setenv(const char *name, const char *value, int overwrite)") as (name: string, value: string, overwrite: number) => number,
    unsetenv: f("int unsetenv(const char *name)") as (name: string) => number,
    geteuid: f("uint32_t geteuid()") as () => number,
    getegid: f("uint32_t getegid()") as () => number,
    userByName: (name: string) => passwd(getpwnam(name)),
    userById: (uid: number) => passwd(getpwuid(uid)),
    groupByName: (name: string) => group(getgrnam(name)),
    groupById: (gid: number) => group(getgrgid(gid)),
    /** [real, effective, saved] user ids. */
    getresuid: () => triple(getresuid),
    getresgid: () => triple(getresgid),
    // Each returns 0, or -1 with errno set (read it with errorText()).
    initgroups: f("int initgroups(const char *user, uint32_t group)") as (user: string, group: number) => number,
    setgroups: f("int setgroups(size_t size, const uint32_t *list)") as (size: number, list: number[]) => number,
    setgid: f("int setgid(uint32_t gid)") as (gid: number) => number,
    setuid: f("int setuid(uint32_t uid)") as (uid: number) => number,
    /** Sets the name `ps -o comm`, top and /proc/PID/comm show (15 bytes at most). */
    setProcessName: (() => {
      const prctl = f("int prctl(int option, const char *name, unsigned long a3, unsigned long a4, unsigned long a5)");
      const PR_SET_NAME = 15;
      return (name: string) => prctl(PR_SET_NAME, name.slice(0, 15), 0, 0, 0) as number;
    })(),
    /** A duplicate of a descriptor, closed on exec (fcntl F_DUPFD_CLOEXEC); -1 on failure. */
    duplicate: (() => {
      const fcntl = f("int fcntl(int fd, int cmd, int arg)");
      const F_DUPFD_CLOEXEC = 1030;
      return (fd: number) => fcntl(fd, F_DUPFD_CLOEXEC, 0) as number;
    })(),
    /** Makes `to` a duplicate of `from` (closing what `to` was, atomically); -1 on failure. */
    dup2: f("int dup2(int from, int to)") as (from: number, to: number) => number,
    /** The text of the last failed call's errno. */
    errorText: () => strerror(koffi.errno()),
    /** The text of an errno, as Apache's log lines give it ("No such file or directory"). */
    strerror,
  };
}

export type LibC = ReturnType<typeof bind>;

let bound: LibC | null = null;

export function libc(): LibC {
  bound ??= bind();
  return bound;
}
