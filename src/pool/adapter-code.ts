// The adapter's code object for the running Python: unmarshalled from what the build compiled for this
// Python's bytecode format (build/adapter-bytecode.ts), else compiled from adapter.py (from source, or
// a Python the build did not have). Compiling takes ~8 ms of each interpreter's start; unmarshalling
// ~0.3 ms. GIL held.
import { Py_file_input, type LibPython, type Ptr } from "../ffi/libpython.ts";
import adapterSource from "../python/adapter.py" with { type: "text" };
import { ADAPTER_BYTECODE, ADAPTER_FILENAME } from "./adapter-bytecode.ts";

/** Per thread: this Python's precompiled adapter, null when the build had none for it. */
let bytecode: Buffer | null | undefined;

/** A new reference to the adapter's code object, and whether it came precompiled; 0 with a Python error set on failure. */
export function adapterCode(py: LibPython): { code: Ptr; precompiled: boolean } {
  if (bytecode === undefined) {
    const magic = py.PyImport_GetMagicNumber();
    if (magic === -1) py.PyErr_Clear();
    const encoded = ADAPTER_BYTECODE[String(magic)];
    bytecode = encoded ? Buffer.from(encoded, "base64") : null;
  }
  if (bytecode) {
    const code = py.PyMarshal_ReadObjectFromString(bytecode, bytecode.length);
    if (code) return { code, precompiled: true };
    py.PyErr_Clear(); // not expected; the source still works
  }
  return { code: py.Py_CompileString(adapterSource, ADAPTER_FILENAME, Py_file_input), precompiled: false };
}
