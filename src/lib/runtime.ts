// Which JavaScript runtime the library runs on, and what it needs from it. On Bun the server runs as
// the CLI does; on Node >= 20 the library bundle carries node/bun-shim.ts for the Bun APIs it uses.
import { UnsupportedRuntimeError } from "./errors.ts";
import { adoptNodeServer } from "./node/bun-shim.ts";

const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

export function checkRuntime(): void {
  if (onBun) return;
  const major = Number(process.versions.node?.split(".")[0]);
  if (!(major >= 20)) throw new UnsupportedRuntimeError(`wsgi-bin needs Bun, or Node 20 or later; this is Node ${process.versions.node}.`);
  if (typeof Atomics.waitAsync !== "function") {
    throw new UnsupportedRuntimeError("wsgi-bin needs Atomics.waitAsync, which this runtime lacks (Node 20 or later, Bun).");
  }
}

/** Binds the listening socket ahead on Node (its net.Server binds asynchronously); on Bun the listener binds itself. */
export async function bindForNode(host: string, port: number): Promise<number> {
  return onBun ? port : adoptNodeServer(host, port);
}
