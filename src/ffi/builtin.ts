// A Python builtin whose body is JavaScript: a PyMethodDef pointing at a koffi callback. Python calls
// it on the calling thread with the GIL held, like any C function.
import koffi from "./koffi.ts";
import { METH_NOARGS, type Ptr } from "./libpython.ts";

const MethodDef = koffi.struct("wsgi_bin_PyMethodDef", {
  ml_name: "void *",
  ml_meth: "void *",
  ml_flags: "int",
  ml_doc: "void *",
});
const NoArgsFunction = koffi.proto("intptr_t wsgi_bin_noargs(intptr_t self, intptr_t unused)");

/**
 * The address of a METH_NOARGS method definition running `body`, which returns a new reference (or 0
 * with a Python error set). Pass it to PyCFunction_NewEx once per interpreter: function objects must
 * not cross interpreters, the definition may. It lives as long as the process, as a C extension's
 * static PyMethodDef does.
 */
export function defineNoArgsBuiltin(name: string, body: () => Ptr): Ptr {
  const callback = koffi.register(() => body(), koffi.pointer(NoArgsFunction));
  const nameBytes = [...Buffer.from(name + "\0", "utf8")];
  const nameMemory = koffi.alloc("uint8_t", nameBytes.length);
  koffi.encode(nameMemory, koffi.array("uint8_t", nameBytes.length, "Array"), nameBytes);
  const def = koffi.alloc(MethodDef, 1);
  koffi.encode(def, MethodDef, { ml_name: nameMemory, ml_meth: callback, ml_flags: METH_NOARGS, ml_doc: null });
  return Number(koffi.address(def));
}
