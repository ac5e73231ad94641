# Run by the build (build/adapter-bytecode.ts) with every Python it finds: compiles the adapter as
# wsgi-bin's Py_CompileString would (the same file name, no inherited flags, no optimisation) and prints
# this Python's bytecode magic number, as PyImport_GetMagicNumber() gives it, and the code object,
# marshalled, in base64. Prints nothing for a Python wsgi-bin does not support.
import base64
import importlib.util
import marshal
import sys

if (3, 9) <= sys.version_info[:2] <= (3, 13):
    with open(sys.argv[1], encoding="utf-8") as source:
        code = compile(source.read(), sys.argv[2], "exec", dont_inherit=True, optimize=0)
    print(int.from_bytes(importlib.util.MAGIC_NUMBER, "little"), base64.b64encode(marshal.dumps(code)).decode())
