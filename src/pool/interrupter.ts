// The watchdog thread's hands: raises the adapter's RequestTimeout in a worker thread that has run one
// request too long. PyThreadState_SetAsyncExc only searches the current interpreter's threads, so the
// watchdog keeps a thread state of its own in each interpreter it has had to interrupt in, and uses
// that interpreter's own RequestTimeout class (classes must not cross interpreters).
import type { LibPython } from "../ffi/libpython.ts";
import type { BusyRequest, BusyState } from "./busy.ts";
import type { ThreadStates } from "./thread-states.ts";

const ADAPTER_MODULE = "_wsgi_bin_adapter"; // as in interpreters.ts

export type Interrupted = "interrupted" | "finished" | "failed";

export class Interrupter {
  constructor(private readonly py: LibPython, private readonly threadStates: ThreadStates) {}

  /**
   * Raises RequestTimeout in the request's thread at its next bytecode, unless the request ended
   * meanwhile. Takes the GIL, so it waits while a worker holds it: a bytecode loop hands it over
   * when asked (every 5 ms switch interval), a C call that keeps it only when it returns.
   */
  interrupt(busy: BusyState, request: BusyRequest): Interrupted {
    const py = this.py;
    // Wait for the GIL in the request's own interpreter: before 3.13 a waiter's "drop the GIL" request
    // only reaches threads of the waiter's interpreter, and the overdue thread is the likely holder.
    py.PyEval_RestoreThread(this.threadStates.in(request.interpreter));
    try {
      // The worker changes BUSY only with the GIL held, so this answer stays true until we release it.
      if (!busy.stillRunning(request.serial)) return "finished";
      busy.markTimedOut(request.serial); // once per request, whatever happens next
      return this.raiseIn(request.threadIdent) ? "interrupted" : "failed";
    } finally {
      py.PyEval_SaveThread();
    }
  }

  /** SetAsyncExc with this interpreter's RequestTimeout; true when the thread was found. GIL held. */
  private raiseIn(threadIdent: number): boolean {
    const py = this.py;
    const name = py.PyUnicode_FromString(ADAPTER_MODULE);
    const module = py.PyImport_GetModule(name);
    py.Py_DecRef(name);
    let found = 0;
    if (module) {
      const requestTimeout = py.PyObject_GetAttrString(module, "RequestTimeout");
      py.Py_DecRef(module);
      if (requestTimeout) {
        found = py.PyThreadState_SetAsyncExc(threadIdent, requestTimeout); // takes its own reference
        py.Py_DecRef(requestTimeout);
      }
    }
    if (py.PyErr_Occurred()) py.PyErr_PrintEx(0);
    return found > 0;
  }
}
