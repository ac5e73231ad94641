// What the HTTP thread tells a new worker before it starts serving (the only structured-clone message).
import type { AdapterSources } from "./adapter-sources.ts";
import type { MarshalValue } from "./marshal.ts";
import type { ParallelInit } from "./parallel.ts";

export interface WorkerInit {
  /** The thread's number, from 0 (logs; a parallel group's first pick). */
  index: number;
  /** Every channel (pool/channel.ts): the worker serves whichever the run queue gives it. */
  channels: SharedArrayBuffer[];
  /** The RunQueue's memory (pool/run-queue.ts). */
  runQueue: SharedArrayBuffer;
  library: string;
  /** The main interpreter's dict of application group name -> PyInterpreterState address. */
  registry: number;
  /** A SharedMutex's memory: held while any thread sets up an interpreter (see pool/shared-mutex.ts). */
  setupLock: SharedArrayBuffer;
  /** The --parallel-interpreters groups and their shared replica table (see pool/parallel.ts). */
  parallel: ParallelInit;
  /** The dict adapter.attach() is given (marshalled, see pool/marshal.ts): see Interpreter.__init__ in src/python/adapter.py. */
  adapterConfig: Record<string, MarshalValue>;
  /** The adapter's and the mod_wsgi module's code for this Python (pool/adapter-sources.ts). */
  adapterSources: AdapterSources;
  logFd: number;
  logLevel: number;
}
