# Run by the build (build/adapter-bytecode.ts) with every Python it finds: compiles each source file it
# is given (pairs of arguments: the file, then the name its code carries) as wsgi-bin's Py_CompileString
# or the adapter's compile() would (no inherited flags, no optimisation) and prints this Python's
# bytecode magic number, as PyImport_GetMagicNumber() gives it, then each code object, marshalled, in
# base64, in the order given. Prints nothing for a Python wsgi-bin does not support.
import base64
import importlib.util
import marshal
import sys

if (3, 9) <= sys.version_info[:2] <= (3, 13):
    encoded = []
    for path, name in zip(sys.argv[1::2], sys.argv[2::2]):
        with open(path, encoding="utf-8") as source:
            code = compile(source.read(), name, "exec", dont_inherit=True, optimize=0)
        encoded.append(base64.b64encode(marshal.dumps(code)).decode())
    print(int.from_bytes(importlib.util.MAGIC_NUMBER, "little"), *encoded)
