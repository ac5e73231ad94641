// What every interpreter loads the adapter and the mod_wsgi module from, resolved once on the HTTP
// thread for the running Python and handed to the workers in their WorkerInit: the marshalled code
// objects the build compiled for its bytecode format (build/adapter-bytecode.ts), else the sources.
// The workers never hold the build's table (~550 KB of base64, every Python's): each parsed it, and
// the first interpreter's adapter import at cold start took ~2 ms longer (bench/cold-phases.ts).
import adapterSource from "../python/adapter.py" with { type: "text" };
import modWsgiSource from "../python/mod_wsgi.py" with { type: "text" };
import { ADAPTER_BYTECODE, MOD_WSGI_BYTECODE } from "./adapter-bytecode.ts";

/** A marshalled code object (in shared memory: one copy for every worker), or the source to compile. */
export type CodeSource = Uint8Array | string;

export interface AdapterSources {
  adapter: CodeSource;
  /** What adapter.py's Interpreter.install_mod_wsgi is given: marshal's bytes object holding the code, or the source. */
  modWsgi: CodeSource;
}

/** For the Python whose PyImport_GetMagicNumber() is `magic` (-1 when unknown: the sources). */
export function adapterSources(magic: number): AdapterSources {
  const adapter = ADAPTER_BYTECODE[String(magic)];
  const modWsgi = MOD_WSGI_BYTECODE[String(magic)];
  return {
    adapter: adapter ? shared(Buffer.from(adapter, "base64")) : adapterSource,
    modWsgi: modWsgi ? shared(marshalledBytes(Buffer.from(modWsgi, "base64"))) : modWsgiSource,
  };
}

function shared(bytes: Uint8Array): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(bytes.length));
  view.set(bytes);
  return view;
}

/** `data` as marshal's bytes object ('s', a 32-bit little-endian length, the bytes): read back, a Python bytes. */
function marshalledBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = 0x73;
  new DataView(out.buffer).setInt32(1, data.length, true);
  out.set(data, 5);
  return out;
}
