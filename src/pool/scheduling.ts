// Worker threads run under SCHED_BATCH. A worker sleeps between requests, so under Linux's default
// policy its wake-up preempts whatever runs on that core, usually the HTTP thread in the middle of a
// batch of requests: on a 2-core machine that cost a third of the throughput (bench: 6 alternating
// rounds of wrk on hello.wsgi, 9.5-15k req/s without, 17-22k with). SCHED_BATCH only drops that
// wake-up preemption; the thread still gets its fair share of CPU.
import koffi from "../ffi/koffi.ts";

const SCHED_BATCH = 3;

/** Applies to the calling thread only. Returns false where the policy is not available. */
export function preferBatchScheduling(): boolean {
  if (process.platform !== "linux") return false;
  try {
    const setScheduler = koffi.load("libc.so.6").func("int sched_setscheduler(int pid, int policy, int32_t *param)");
    return setScheduler(0, SCHED_BATCH, new Int32Array([0])) === 0;
  } catch {
    return false;
  }
}
