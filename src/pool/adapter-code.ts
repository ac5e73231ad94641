// The adapter's code object in the current interpreter, from what the HTTP thread resolved for this
// Python (pool/adapter-sources.ts): unmarshalled when the build compiled it for this bytecode format,
// else compiled from adapter.py (from source, or a Python the build did not have). Compiling takes
// ~8 ms of each interpreter's start; unmarshalling ~0.3 ms. GIL held.
import { Py_file_input, type LibPython, type Ptr } from "../ffi/libpython.ts";
import { ADAPTER_FILENAME } from "./adapter-bytecode.ts";
import type { AdapterSources } from "./adapter-sources.ts";

/** A new reference to the adapter's code object, and whether it came precompiled; 0 with a Python error set on failure. */
export function adapterCode(py: LibPython, sources: AdapterSources): { code: Ptr; precompiled: boolean } {
  const { adapter } = sources;
  if (typeof adapter !== "string") {
    // Not expected to fail (the build compiled it for this very format): the error is left set for the caller's log.
    return { code: py.PyMarshal_ReadObjectFromString(adapter, adapter.length), precompiled: true };
  }
  return { code: py.Py_CompileString(adapter, ADAPTER_FILENAME, Py_file_input), precompiled: false };
}

/**
 * A new reference to what the adapter makes the mod_wsgi module from when an app imports it
 * (adapter.py's Interpreter.install_mod_wsgi): its code marshalled, as a bytes object, when the build
 * compiled it for this Python, else its source as a str. Either is only a copy until then. GIL held.
 */
export function modWsgiCode(py: LibPython, sources: AdapterSources): Ptr {
  const { modWsgi } = sources;
  if (typeof modWsgi === "string") return py.PyUnicode_FromString(modWsgi);
  return py.PyMarshal_ReadObjectFromString(modWsgi, modWsgi.length);
}
