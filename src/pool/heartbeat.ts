// --deadlock-timeout (mod_wsgi's deadlock-timeout): the watchdog thread takes the GIL every tick and
// stamps the time in shared memory; the HTTP thread (process/health.ts), which never takes the GIL,
// sees the stamp go stale when something holds the GIL and does not let go: a C call that keeps it
// (ctypes.PyDLL, an extension that forgot Py_BEGIN_ALLOW_THREADS) or a deadlock around it.
import type { LibPython, Ptr } from "../ffi/libpython.ts";
import type { BusyState } from "./busy.ts";
import type { ParallelTable } from "./parallel.ts";
import type { ThreadStates } from "./thread-states.ts";

/** The time of the last heartbeat, one Float64 shared by the watchdog thread and the HTTP thread. */
export class HeartbeatStamp {
  private readonly time: Float64Array;

  constructor(readonly shared = new SharedArrayBuffer(8)) {
    this.time = new Float64Array(shared);
    if (this.time[0] === 0) this.stamp(); // a new one counts from now
  }

  stamp(now = Date.now()): void {
    this.time[0] = now; // one aligned 8-byte store: readers see the old value or the new one
  }

  ageMs(now = Date.now()): number {
    return now - this.time[0]!;
  }
}

/** The watchdog thread's side: one beat takes each GIL a request may be stuck behind, stamps, and lets them go. */
export class Heartbeat {
  private readonly main: number;
  /** The interpreters one beat waits in (made once, filled per beat). */
  private readonly gils: Ptr[] = [];

  constructor(
    private readonly py: LibPython,
    private readonly threadStates: ThreadStates,
    private readonly workers: readonly BusyState[],
    private readonly stamp: HeartbeatStamp,
    private readonly replicas: ParallelTable,
  ) {
    this.main = py.PyInterpreterState_Main();
  }

  /** Blocks for as long as the GIL is held elsewhere: that wait is what the stamp measures. */
  beat(): void {
    // Before 3.13 a waiter's "drop the GIL" request reaches only threads of its own interpreter: a
    // heartbeat waiting in the main interpreter while a busy loop runs in a sub-interpreter would
    // starve and look like a deadlock. So wait in the interpreter of the worker most likely to hold
    // it, the one running the longest request (else one waiting to start its request), and not at
    // all when no worker runs or waits for Python: then no request can be stuck behind the GIL.
    // A replica of a parallel group (--parallel-interpreters) has a GIL of its own, which a C call can
    // keep while the others are free: each replica with a request in it is waited in as well.
    const gils = this.gils;
    gils.length = 0;
    let shared = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const busy of this.workers) {
      if (busy.turn() === null) continue;
      const interpreter = busy.lastInterpreter() || this.main;
      if (this.replicas.ownsGil(interpreter)) {
        if (!gils.includes(interpreter)) gils.push(interpreter);
        continue;
      }
      const since = busy.read()?.since ?? Number.POSITIVE_INFINITY;
      if (shared === 0 || since < oldest) {
        oldest = since;
        shared = interpreter;
      }
    }
    if (shared !== 0) gils.push(shared);
    for (const interpreter of gils) {
      this.py.PyEval_RestoreThread(this.threadStates.in(interpreter));
      this.py.PyEval_SaveThread();
    }
    this.stamp.stamp();
  }
}
