// The adapter's code object, marshalled, per Python bytecode format (PyImport_GetMagicNumber() -> base64).
// Empty here: the build fills it in (build/adapter-bytecode.ts), and from source every interpreter
// compiles adapter.py itself (src/pool/adapter-code.ts).
export const ADAPTER_BYTECODE: Readonly<Record<string, string>> = {};

/** The file name the adapter's code (and its tracebacks) carry, precompiled or not. */
export const ADAPTER_FILENAME = "wsgi-bin/adapter.py";
