// One worker thread's table of interpreters: per application group, the thread state this thread
// uses in it and the adapter's per-request function. As mod_wsgi's wsgi_acquire_interpreter: the
// interpreter is created by whichever thread needs it first; every other thread adds its own thread
// state to it. PyGILState_* is never used: it only knows the main interpreter.
//
// A group with --parallel-interpreters K > 1 is K interpreters ("replicas"), each with its own GIL
// (pool/parallel.ts): an entry per replica this thread has used. Moving between interpreters with
// different GILs is always PyEval_SaveThread / PyEval_RestoreThread, which release and take the right
// GIL; PyThreadState_Swap only ever moves between the main interpreter and the groups sharing its GIL.
// Nothing crosses between replicas: each imports the adapter, gets its own exchange() function object
// and its own log streams (adapter.py's Interpreter); the registry below only holds shared-GIL ones.
import {
  PyBUF_WRITE, PyInterpreterConfig_OWN_GIL, type InterpreterConfig, type LibPython, type Ptr,
} from "../ffi/libpython.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { adapterCode, modWsgiCode } from "./adapter-code.ts";
import type { AdapterSources } from "./adapter-sources.ts";
import type { ParallelGroup, ParallelTable } from "./parallel.ts";
import type { SharedMutex } from "./shared-mutex.ts";

const ADAPTER_MODULE = "_wsgi_bin_adapter";

/**
 * A replica: its own GIL, which needs its own allocator (use_main_obmalloc 0) and refusing single-phase
 * init extensions (check_multi_interp_extensions 1: their state would be shared between GILs). Unlike
 * CPython's isolated default, threads may be daemons and subprocess may exec (as apps under mod_wsgi
 * expect); os.fork() stays refused.
 */
const OWN_GIL_CONFIG: InterpreterConfig = {
  use_main_obmalloc: 0,
  allow_fork: 0,
  allow_exec: 1,
  allow_threads: 1,
  allow_daemon_threads: 1,
  check_multi_interp_extensions: 1,
  gil: PyInterpreterConfig_OWN_GIL,
};

export interface Entry {
  threadState: Ptr;
  /** Bound method Worker.handle of the adapter: called per request with channelArgs[channel]. */
  handle: Ptr;
  /** Per channel, the argument tuple `(index,)` for handle, made once in this interpreter. */
  channelArgs: Ptr[];
  /** The interpreter, published per request for the --request-timeout watchdog (pool/busy.ts). */
  interpreter: Ptr;
  /** The adapter's settle(): consumes a timeout injected too late to fire within its request. */
  settle: Ptr;
}

export class ThreadInterpreters {
  private readonly entries = new Map<string, Entry>();
  /** Thread states already made, kept apart from entries so a failed attach does not make another. */
  private readonly threadStates = new Map<string, Ptr>();
  /** The same for parallel groups' replicas, by slot (ParallelGroup.offset + replica): no key per request. */
  private readonly replicaEntries: (Entry | undefined)[] = [];
  private readonly replicaStates: (Ptr | undefined)[] = [];
  /** This thread's state in the main interpreter: used for %{GLOBAL} and to create the others. */
  private readonly mainState: Ptr;

  constructor(
    private readonly py: LibPython,
    private readonly registry: Ptr,
    private readonly log: ErrorLog,
    /** config: the adapter's configuration, marshalled (pool/marshal.ts). */
    private readonly attachArguments: {
      config: Uint8Array; sources: AdapterSources; memories: Uint8Array[]; exchangeDef: Ptr; publishDef: Ptr; awayDef: Ptr; backDef: Ptr;
    },
    private readonly setupLock: SharedMutex,
    private readonly parallel: ParallelTable,
  ) {
    this.mainState = py.PyThreadState_New(py.PyInterpreterState_Main());
  }

  /** The entry for an application group ("" is %{GLOBAL}), creating what is missing; null on failure. */
  get(group: string): Entry | null {
    return this.entries.get(group) ?? this.create(group);
  }

  /** The entry for replica `index` of a parallel group, creating what is missing; null on failure. */
  getReplica(group: ParallelGroup, index: number): Entry | null {
    return this.replicaEntries[group.offset + index] ?? this.createReplica(group, index);
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
      const attached = this.attachAdapter(`'${group}'`, group, 1);
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

  /**
   * This thread's entry in one replica of a parallel group, creating the replica when no thread has.
   * The setup lock is taken without any GIL, then the replica's own GIL (or, to create it, the main
   * one, which Py_NewInterpreterFromConfig releases as it hands over the new interpreter's).
   */
  private createReplica(group: ParallelGroup, index: number): Entry | null {
    const py = this.py;
    const slot = group.offset + index;
    const label = `'${group.group}' (${index + 1} of ${group.count})`;
    this.setupLock.lock();
    try {
      let threadState = this.replicaStates[slot];
      if (threadState) py.PyEval_RestoreThread(threadState);
      else {
        const interpreter = this.parallel.interpreter(group, index);
        if (interpreter) {
          threadState = py.PyThreadState_New(interpreter);
          py.PyEval_RestoreThread(threadState);
        } else {
          threadState = this.newOwnGilInterpreter(label);
          if (!threadState) return null;
          this.parallel.publish(group, index, py.PyThreadState_GetInterpreter(threadState));
          this.log.info(`Create interpreter ${label} with its own GIL.`);
        }
        this.replicaStates[slot] = threadState;
      }
      // This replica's GIL is held.
      const attached = this.attachAdapter(label, group.group, group.count);
      py.PyEval_SaveThread();
      if (!attached) return null;
      const entry = { threadState, ...attached, interpreter: py.PyThreadState_GetInterpreter(threadState) };
      this.replicaEntries[slot] = entry;
      return entry;
    } finally {
      this.setupLock.unlock();
    }
  }

  /**
   * A new interpreter with its own GIL: on success its thread state (this thread's, current, its GIL
   * held, the main GIL released); on failure 0, logged, no GIL held.
   */
  private newOwnGilInterpreter(label: string): Ptr {
    const py = this.py;
    if (!py.Py_NewInterpreterFromConfig) {
      // Refused at start-up (pool/parallel.ts checkParallelSupport): only a Python that changed under us.
      this.log.error(`Failed to create interpreter ${label}: this Python has no Py_NewInterpreterFromConfig (3.12+).`);
      return 0;
    }
    py.PyEval_RestoreThread(this.mainState);
    const out: [Ptr] = [0];
    const status = py.Py_NewInterpreterFromConfig(out, OWN_GIL_CONFIG);
    if (status.type === 0 && out[0]) return out[0];
    // On failure the caller's thread state is current again, with the main GIL.
    const reason = status.type !== 0 ? `${status.func ?? "Py_NewInterpreterFromConfig"}: ${status.err_msg ?? "failed"}` : "no interpreter";
    this.log.error(`Failed to create interpreter ${label} with its own GIL: ${reason}.`);
    if (py.PyErr_Occurred()) py.PyErr_PrintEx(0);
    py.PyEval_SaveThread();
    return 0;
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

  /**
   * Imports the adapter into the current interpreter (once) and attaches this thread; `replicas` tells
   * the adapter how many interpreters its group has (its refusal hints and 3.12's stdlib fallbacks),
   * `group` names it (for mod_wsgi.application_group). GIL held.
   */
  private attachAdapter(label: string, group: string, replicas: number): { handle: Ptr; settle: Ptr; channelArgs: Ptr[] } | null {
    const py = this.py;
    const { config, sources, memories, exchangeDef, publishDef, awayDef, backDef } = this.attachArguments;
    const name = py.PyUnicode_FromString(ADAPTER_MODULE);
    let module = py.PyImport_GetModule(name);
    py.Py_DecRef(name);
    const first = !module; // the interpreter's first attach: the one its Interpreter is made with
    if (!module && !py.PyErr_Occurred()) {
      const { code, precompiled } = adapterCode(py, sources);
      if (code) {
        this.log.debug(`Adapter for interpreter ${label}: ${precompiled ? "precompiled by the build for this Python" : "compiled from its source"}.`);
        module = py.PyImport_ExecCodeModule(ADAPTER_MODULE, code);
        py.Py_DecRef(code);
      }
    }
    let handle = 0;
    let settle = 0;
    const channelArgs = module ? memories.map((_, index) => tupleOf(py, [py.PyLong_FromLongLong(index)])) : [];
    if (module && channelArgs.every(Boolean)) {
      const attach = py.PyObject_GetAttrString(module, "attach");
      if (attach) {
        const views = tupleOf(py, memories.map((memory) => py.PyMemoryView_FromMemory(memory, memory.byteLength, PyBUF_WRITE)));
        const args = tupleOf(py, [
          py.PyMarshal_ReadObjectFromString(config, config.length),
          views,
          py.PyCFunction_NewEx(exchangeDef, 0, 0),
          py.PyCFunction_NewEx(publishDef, 0, 0),
          py.PyCFunction_NewEx(awayDef, 0, 0),
          py.PyCFunction_NewEx(backDef, 0, 0),
          py.PyLong_FromLongLong(replicas),
          py.PyUnicode_FromString(group),
          ...(first ? [modWsgiCode(py, sources)] : []), // later attaches find the interpreter made
        ]);
        if (args) {
          handle = py.PyObject_CallObject(attach, args);
          py.Py_DecRef(args);
        }
        py.Py_DecRef(attach);
      }
      if (handle) settle = py.PyObject_GetAttrString(module, "settle");
    }
    if (module) py.Py_DecRef(module);
    if (handle && settle) return { handle, settle, channelArgs };
    if (handle) py.Py_DecRef(handle);
    for (const args of channelArgs) if (args) py.Py_DecRef(args);
    this.log.error(`Failed to set up interpreter ${label} for wsgi-bin.`);
    if (py.PyErr_Occurred()) py.PyErr_PrintEx(0);
    return null;
  }
}

/** A new tuple of `items` (each a new reference, stolen; 0 for one that failed), or 0 with all released. */
function tupleOf(py: LibPython, items: Ptr[]): Ptr {
  const tuple = items.every(Boolean) ? py.PyTuple_New(items.length) : 0;
  if (!tuple) {
    for (const item of items) if (item) py.Py_DecRef(item);
    return 0;
  }
  items.forEach((item, index) => py.PyTuple_SetItem(tuple, index, item));
  return tuple;
}
