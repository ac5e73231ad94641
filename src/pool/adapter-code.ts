// The adapter's code object for the running Python: unmarshalled from what the build compiled for this
// Python's bytecode format (build/adapter-bytecode.ts), else compiled from adapter.py (from source, or
// a Python the build did not have). Compiling takes ~8 ms of each interpreter's start; unmarshalling
// ~0.3 ms. GIL held.
import { Py_file_input, type LibPython, type Ptr } from "../ffi/libpython.ts";
import adapterSource from "../python/adapter.py" with { type: "text" };
import modWsgiSource from "../python/mod_wsgi.py" with { type: "text" };
import { ADAPTER_BYTECODE, ADAPTER_FILENAME, MOD_WSGI_BYTECODE } from "./adapter-bytecode.ts";

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

/** Per thread: this Python's precompiled mod_wsgi module wrapped as a marshalled bytes object, null when the build had none for it. */
let modWsgiBytes: Uint8Array | null | undefined;

/**
 * A new reference to what the adapter makes the mod_wsgi module from when an app imports it
 * (adapter.py's Interpreter.install_mod_wsgi): its code marshalled, as a bytes object, when the build
 * compiled it for this Python, else its source as a str. Either is only a copy until then. GIL held.
 */
export function modWsgiCode(py: LibPython): Ptr {
  if (modWsgiBytes === undefined) {
    const magic = py.PyImport_GetMagicNumber();
    if (magic === -1) py.PyErr_Clear();
    const encoded = MOD_WSGI_BYTECODE[String(magic)];
    modWsgiBytes = encoded ? marshalledBytes(Buffer.from(encoded, "base64")) : null;
  }
  if (modWsgiBytes) {
    const bytes = py.PyMarshal_ReadObjectFromString(modWsgiBytes, modWsgiBytes.length);
    if (bytes) return bytes;
    py.PyErr_Clear();
  }
  return py.PyUnicode_FromString(modWsgiSource);
}

/** `data` as marshal's bytes object ('s', a 32-bit little-endian length, the bytes): read back, a Python bytes. */
function marshalledBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = 0x73;
  new DataView(out.buffer).setInt32(1, data.length, true);
  out.set(data, 5);
  return out;
}
