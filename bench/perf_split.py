# Where a server's threads spend their CPU, from `perf script -F comm,tid,ip,sym,dso` of a `perf record
# -g` (bench/cpu-budget.ts --perf runs both): each sample goes to its thread's kind (the process's
# main thread, its "Worker" threads, the rest) and to one place: a system call (by the kernel's
# __x64_sys_* frame, or the libc function that entered the kernel), other kernel work (interrupts,
# page faults), or the user code it was in (libpython, libc, Bun's own code, JIT-compiled JavaScript).
# Bun's release build has no symbols, so its own code is one place; JIT frames are unnamed too.
#
#   perf script -i perf.data -F comm,tid,ip,sym,dso | python3 bench/perf_split.py MAIN_PID
#
# Prints JSON: {kind: {place: samples}}.
import collections
import json
import re
import sys

SYSCALL_FRAME = re.compile(r"__(?:x64|se)_sys_(\w+)")
FRAME = re.compile(r"\s*([0-9a-f]+) (.*) \((.*)\)$")
# The libc function a system call was made from, where the kernel's part of the stack lacks the
# __x64_sys_* frame (a sample taken on the way back to user space, in the scheduler).
LIBC_ENTRY = [("stat", "newfstatat"), ("write", "write"), ("send", "sendto"), ("recv", "recvfrom"),
              ("futex", "futex"), ("lll_lock", "futex"), ("pthread_cond", "futex"), ("accept", "accept4"),
              ("epoll", "epoll_pwait2"), ("read", "read"), ("close", "close")]


def place(frames):
    kernel = [sym for _, sym, dso in frames if dso == "[kernel.kallsyms]"]
    user = [(sym, dso) for _, sym, dso in frames if dso != "[kernel.kallsyms]"]
    if kernel:
        for sym in kernel:
            match = SYSCALL_FRAME.match(sym)
            if match:
                return "syscall " + match.group(1)
        if "entry_SYSCALL_64_after_hwframe" in kernel and user:
            caller = user[0][0]
            for part, name in LIBC_ENTRY:
                if part in caller:
                    return "syscall " + name
            return "syscall (made from unnamed code)"
        if any("page_fault" in sym for sym in kernel):
            return "kernel: page faults"
        return "kernel: interrupts, scheduling"
    dso = user[0][1] if user else "?"
    if "libpython" in dso:
        return "libpython"
    if "libc.so" in dso:
        return "libc"
    if "perf-" in dso or dso in ("[unknown]", "[JIT]") or dso.startswith("//anon"):
        return "JIT-compiled JavaScript"
    if dso.endswith("wsgi-bin") or "bun" in dso:
        return "Bun's own code"
    return dso.rsplit("/", 1)[-1]


def main():
    pid = int(sys.argv[1])
    counts = collections.defaultdict(collections.Counter)
    comm, tid, frames = None, None, []

    def flush():
        if tid is not None and frames:
            kind = "main" if tid == pid else "worker" if comm.startswith("Worker") else "other"
            counts[kind][place(frames)] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            tid, frames = None, []
        elif not line.startswith(("\t", " ")):
            parts = line.split()
            comm, tid = " ".join(parts[:-1]), int(parts[-1])
        else:
            match = FRAME.match(line.rstrip())
            if match:
                frames.append(match.groups())
    flush()
    json.dump(counts, sys.stdout)


main()
