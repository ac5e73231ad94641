// One worker thread's table of interpreters: per application group, the thread state this thread
// uses in it and the adapter's per-request function. As mod_wsgi's wsgi_acquire_interpreter: the
// interpreter is created by whichever thread needs it first; every other thread adds its own thread
// state to it. PyGILState_* is never used: it only knows the main interpreter.
import { PyBUF_WRITE, Py_file_input, type LibPython, type Ptr } from "../ffi/libpython.ts";
import type { ErrorLog } from "../log/error-log.ts";
import adapterSource from "../python/adapter.py" with { type: "text" };
import type { SharedMutex } from "./shared-mutex.ts";

const ADAPTER_MODULE = "_wsgi_bin_adapter";

export interface Entry {
  threadState: Ptr;
  /** Bound method Worker.handle of the adapter: called with no arguments per request. */
  handle: Ptr;
  /** The interpreter, published per request for the --request-timeout watchdog (pool/busy.ts). */
  interpreter: Ptr;
  /** The adapter's settle(): consumes a timeout injected too late to fire within its request. */
  settle: Ptr;
}

export class ThreadInterpreters {
  private readonly entries = new Map<string, Entry>();
  /** Thread states already made, kept apart from entries so a failed attach does not make another. */
  private readonly threadStates = new Map<string, Ptr>();
  /** This thread's state in the main interpreter: used for %{GLOBAL} and to create the others. */
  private readonly mainState: Ptr;

  constructor(
    private readonly py: LibPython,
    private readonly registry: Ptr,
    private readonly log: ErrorLog,
    private readonly attachArguments: { config: string; memory: Uint8Array; exchangeDef: Ptr; publishDef: Ptr },
    private readonly setupLock: SharedMutex,
  ) {
    this.mainState = py.PyThreadState_New(py.PyInterpreterState_Main());
  }

  /** The entry for an application group ("" is %{GLOBAL}), creating what is missing; null on failure. */
  get(group: string): Entry | null {
    return this.entries.get(group) ?? this.create(group);
  }

  private create(group: string): Entry | null {
    const py = this.py;
    this.setupLock.lock(); // before the GIL, never after: see shared-mutex.ts
    py.PyEval_RestoreThread(this.mainState);
    try {
      const threadState = group === "" ? this.mainState : this.threadStates.get(group) ?? this.threadStateIn(group);
      if (!threadState) return null;
      this.threadStates.set(group, threadState);
      py.PyThreadState_Swap(threadState);
      const attached = this.attachAdapter(group);
      py.PyThreadState_Swap(this.mainState);
      if (!attached) return null;
      const entry = { threadState, ...attached, interpreter: py.PyThreadState_GetInterpreter(threadState) };
      this.entries.set(group, entry);
      return entry;
    } finally {
      py.PyEval_SaveThread();
      this.setupLock.unlock();
    }
  }

  /** A new thread state for this thread in the group's interpreter, creating the interpreter. GIL held. */
  private threadStateIn(group: string): Ptr {
    const py = this.py;
    const known = py.PyDict_GetItemString(this.registry, group);
    if (known) return py.PyThreadState_New(py.PyLong_AsLongLong(known));
    const threadState = py.Py_NewInterpreter();
    if (!threadState) {
      // Py_NewInterpreter leaves the caller's thread state current on failure.
      this.log.error(`Failed to create interpreter '${group}'.`);
      if (py.PyErr_Occurred()) py.PyErr_PrintEx(0);
      return 0;
    }
    // The registry is the main interpreter's: its entry is made there, not in the new interpreter.
    py.PyThreadState_Swap(this.mainState);
    const address = py.PyLong_FromLongLong(py.PyThreadState_GetInterpreter(threadState));
    if (!address || py.PyDict_SetItemString(this.registry, group, address) < 0) {
      // Not registered: this thread keeps its interpreter, other threads would make their own.
      this.log.error(`Failed to register interpreter '${group}'.`);
      py.PyErr_PrintEx(0);
    }
    if (address) py.Py_DecRef(address);
    this.log.info(`Create interpreter '${group}'.`);
    return threadState;
  }

  /** Imports the adapter into the current interpreter (once) and attaches this thread. GIL held. */
  private attachAdapter(group: string): { handle: Ptr; settle: Ptr } | null {
    const py = this.py;
    const { config, memory, exchangeDef, publishDef } = this.attachArguments;
    const name = py.PyUnicode_FromString(ADAPTER_MODULE);
    let module = py.PyImport_GetModule(name);
    py.Py_DecRef(name);
    if (!module && !py.PyErr_Occurred()) {
      const code = py.Py_CompileString(adapterSource, "wsgi-bin/adapter.py", Py_file_input);
      if (code) {
        module = py.PyImport_ExecCodeModule(ADAPTER_MODULE, code);
        py.Py_DecRef(code);
      }
    }
    let handle = 0;
    let settle = 0;
    if (module) {
      const attach = py.PyObject_GetAttrString(module, "attach");
      if (attach) {
        const items = [
          py.PyUnicode_FromString(config),
          py.PyMemoryView_FromMemory(memory, memory.byteLength, PyBUF_WRITE),
          py.PyCFunction_NewEx(exchangeDef, 0, 0),
          py.PyCFunction_NewEx(publishDef, 0, 0),
        ];
        const args = items.every(Boolean) ? py.PyTuple_New(items.length) : 0;
        if (args) {
          items.forEach((item, index) => py.PyTuple_SetItem(args, index, item)); // steals each item
          handle = py.PyObject_CallObject(attach, args);
          py.Py_DecRef(args);
        } else {
          for (const item of items) if (item) py.Py_DecRef(item);
        }
        py.Py_DecRef(attach);
      }
      if (handle) settle = py.PyObject_GetAttrString(module, "settle");
      py.Py_DecRef(module);
    }
    if (handle && settle) return { handle, settle };
    if (handle) py.Py_DecRef(handle);
    this.log.error(`Failed to set up interpreter '${group}' for wsgi-bin.`);
    if (py.PyErr_Occurred()) py.PyErr_PrintEx(0);
    return null;
  }
}
