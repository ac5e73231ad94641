// The adapter's code object, marshalled, per Python bytecode format (PyImport_GetMagicNumber() -> base64),
// and the same for the mod_wsgi module an app may import (src/python/mod_wsgi.py).
// Empty here: the build fills them in (build/adapter-bytecode.ts), and from source every interpreter
// compiles the .py files itself (src/pool/adapter-code.ts).
export const ADAPTER_BYTECODE: Readonly<Record<string, string>> = {};
export const MOD_WSGI_BYTECODE: Readonly<Record<string, string>> = {};

/** The file name the adapter's code (and its tracebacks) carry, precompiled or not. */
export const ADAPTER_FILENAME = "wsgi-bin/adapter.py";
/** The same for the mod_wsgi module (twin of MOD_WSGI_FILE in adapter.py). */
export const MOD_WSGI_FILENAME = "wsgi-bin/mod_wsgi.py";
