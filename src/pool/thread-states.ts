// One thread's own thread state in each interpreter it needs to take the GIL in (the watchdog
// thread's: pool/interrupter.ts, pool/heartbeat.ts). Made on first use and kept: interpreters live
// as long as the process.
import type { LibPython, Ptr } from "../ffi/libpython.ts";

export class ThreadStates {
  /** Interpreter address -> this thread's state in it. */
  private readonly states = new Map<Ptr, Ptr>();

  constructor(private readonly py: LibPython) {}

  /**
   * PyThreadState_New needs neither the GIL nor the setup lock interpreters.ts takes: the interpreters
   * asked for are the main one and those a worker published running a request, so fully set up.
   */
  in(interpreter: Ptr): Ptr {
    let state = this.states.get(interpreter);
    if (!state) {
      state = this.py.PyThreadState_New(interpreter);
      this.states.set(interpreter, state);
    }
    return state;
  }
}
