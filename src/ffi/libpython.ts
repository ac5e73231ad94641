// The slice of CPython's C API wsgi-bin calls, bound with koffi. Only exported functions exist over FFI
// (Py_IncRef/Py_DecRef, never the Py_INCREF macros). Every PyObject*, PyThreadState* and
// PyInterpreterState* travels as a plain number (intptr_t): cheap to pass, and valid in every thread.
import koffi from "./koffi.ts";

export type Ptr = number;

export const Py_file_input = 257;
export const METH_NOARGS = 0x0004;
export const PyBUF_WRITE = 0x200;

// Python 3.12+ (Include/cpython/pylifecycle.h and initconfig.h; the same layout in 3.12 and 3.13).
export const PyInterpreterConfig_OWN_GIL = 2;
const PyInterpreterConfig = koffi.struct("wsgi_bin_PyInterpreterConfig", {
  use_main_obmalloc: "int",
  allow_fork: "int",
  allow_exec: "int",
  allow_threads: "int",
  allow_daemon_threads: "int",
  check_multi_interp_extensions: "int",
  gil: "int",
});
const PyStatus = koffi.struct("wsgi_bin_PyStatus", {
  type: "int", // _PyStatus_TYPE_OK = 0, _ERROR = 1, _EXIT = 2
  func: "const char *",
  err_msg: "const char *",
  exitcode: "int",
});

export interface InterpreterConfig {
  use_main_obmalloc: number;
  allow_fork: number;
  allow_exec: number;
  allow_threads: number;
  allow_daemon_threads: number;
  check_multi_interp_extensions: number;
  gil: number;
}

export interface Status {
  type: number;
  func: string | null;
  err_msg: string | null;
  exitcode: number;
}

function bind(path: string) {
  // RTLD_GLOBAL: C extension modules (pip wheels, Debian's) are not linked against libpython and
  // expect its symbols to be visible globally, as they are in the python executable.
  const lib = koffi.load(path, { global: true });
  const f = (decl: string) => lib.func(decl);
  /** A function only some versions export: null where the symbol is missing. */
  const optional = <T>(make: () => T): T | null => {
    try {
      return make();
    } catch {
      return null;
    }
  };
  return {
    path,
    Py_InitializeEx: f("void Py_InitializeEx(int initsigs)") as (initsigs: number) => void,
    Py_GetVersion: f("const char *Py_GetVersion()") as () => string,
    Py_NewInterpreter: f("intptr_t Py_NewInterpreter()") as () => Ptr,
    // 3.12+: a sub-interpreter with its own GIL (--parallel-interpreters). The new thread state is
    // written to the one-element array.
    Py_NewInterpreterFromConfig: optional(() =>
      lib.func("Py_NewInterpreterFromConfig", PyStatus, [koffi.out(koffi.pointer("intptr_t")), koffi.pointer(PyInterpreterConfig)])
    ) as ((tstate: [Ptr], config: InterpreterConfig) => Status) | null,
    PyEval_SaveThread: f("intptr_t PyEval_SaveThread()") as () => Ptr,
    PyEval_RestoreThread: f("void PyEval_RestoreThread(intptr_t tstate)") as (tstate: Ptr) => void,
    PyThreadState_New: f("intptr_t PyThreadState_New(intptr_t interp)") as (interp: Ptr) => Ptr,
    PyThreadState_Swap: f("intptr_t PyThreadState_Swap(intptr_t tstate)") as (tstate: Ptr) => Ptr,
    PyThreadState_GetInterpreter: f("intptr_t PyThreadState_GetInterpreter(intptr_t tstate)") as (tstate: Ptr) => Ptr,
    PyInterpreterState_Main: f("intptr_t PyInterpreterState_Main()") as () => Ptr,
    Py_DecRef: f("void Py_DecRef(intptr_t o)") as (o: Ptr) => void,
    PyErr_Occurred: f("intptr_t PyErr_Occurred()") as () => Ptr,
    // PyErr_PrintEx(0), not PyErr_Print(): the latter keeps the error in sys.last_exc/last_value, and
    // with it the failed request's frames, environ and body, until the next error.
    PyErr_PrintEx: f("void PyErr_PrintEx(int set_sys_last_vars)") as (setSysLastVars: number) => void,
    PyErr_Clear: f("void PyErr_Clear()") as () => void,
    // --request-timeout (pool/interrupter.ts): a thread's ident (threading.get_ident()) and the call
    // that raises an exception in that thread at its next bytecode; unsigned long is 64-bit here.
    PyThread_get_thread_ident: f("unsigned long PyThread_get_thread_ident()") as () => number,
    PyThreadState_SetAsyncExc: f("int PyThreadState_SetAsyncExc(unsigned long id, intptr_t exc)") as (id: number, exc: Ptr) => number,
    PyUnicode_FromString: f("intptr_t PyUnicode_FromString(const char *s)") as (s: string) => Ptr,
    PyLong_FromLongLong: f("intptr_t PyLong_FromLongLong(int64_t v)") as (v: number) => Ptr,
    PyLong_AsLongLong: f("int64_t PyLong_AsLongLong(intptr_t o)") as (o: Ptr) => number,
    PyTuple_New: f("intptr_t PyTuple_New(intptr_t size)") as (size: number) => Ptr,
    PyTuple_SetItem: f("int PyTuple_SetItem(intptr_t tuple, intptr_t pos, intptr_t item)") as (t: Ptr, pos: number, item: Ptr) => number,
    PyDict_New: f("intptr_t PyDict_New()") as () => Ptr,
    PyDict_GetItemString: f("intptr_t PyDict_GetItemString(intptr_t d, const char *key)") as (d: Ptr, key: string) => Ptr,
    PyDict_SetItemString: f("int PyDict_SetItemString(intptr_t d, const char *key, intptr_t v)") as (d: Ptr, key: string, v: Ptr) => number,
    PyImport_GetModule: f("intptr_t PyImport_GetModule(intptr_t name)") as (name: Ptr) => Ptr,
    PyImport_ExecCodeModule: f("intptr_t PyImport_ExecCodeModule(const char *name, intptr_t code)") as (name: string, code: Ptr) => Ptr,
    Py_CompileString: f("intptr_t Py_CompileString(const char *src, const char *filename, int start)") as (src: string, filename: string, start: number) => Ptr,
    // The adapter precompiled by the build (pool/adapter-code.ts): this Python's bytecode format, and its loader.
    PyImport_GetMagicNumber: f("long PyImport_GetMagicNumber()") as () => number,
    PyMarshal_ReadObjectFromString: f("intptr_t PyMarshal_ReadObjectFromString(const void *data, intptr_t len)") as (data: Uint8Array, len: number) => Ptr,
    PyObject_GetAttrString: f("intptr_t PyObject_GetAttrString(intptr_t o, const char *name)") as (o: Ptr, name: string) => Ptr,
    PyObject_CallNoArgs: f("intptr_t PyObject_CallNoArgs(intptr_t callable)") as (callable: Ptr) => Ptr,
    PyObject_CallObject: f("intptr_t PyObject_CallObject(intptr_t callable, intptr_t args)") as (callable: Ptr, args: Ptr) => Ptr,
    PyCFunction_NewEx: f("intptr_t PyCFunction_NewEx(intptr_t def, intptr_t self, intptr_t module)") as (def: Ptr, self: Ptr, mod: Ptr) => Ptr,
    // `void *` taking a typed array: koffi passes the array's own memory, so the view aliases it.
    PyMemoryView_FromMemory: f("intptr_t PyMemoryView_FromMemory(void *mem, intptr_t size, int flags)") as (mem: Uint8Array, size: number, flags: number) => Ptr,
  };
}

export type LibPython = ReturnType<typeof bind>;

let bound: LibPython | null = null;

/** Binds libpython once per thread (each worker has its own koffi instance; dlopen shares the library). */
export function libpython(path?: string): LibPython {
  if (bound) return bound;
  if (!path) throw new Error("libpython is not loaded yet");
  bound = bind(path);
  return bound;
}
