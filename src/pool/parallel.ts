// --parallel-interpreters K: an application group served by K sub-interpreters, each with its own GIL
// (Python 3.12+), so one process runs the group's Python on K cores at once.
//
// Every worker thread can run a request of such a group in any of its K interpreters ("replicas"). Which
// one is decided per request, by the thread that takes it: the first idle replica starting from the
// thread's home replica (its index mod K), else the least busy one. So two requests in flight are in
// two interpreters whichever threads the pool hands them to, and at an even load each thread keeps to
// its home replica. A replica's in-flight count and its PyInterpreterState live in a SharedArrayBuffer
// every worker shares (made once, before the workers start):
//
//   Float64 [slot]            the replica's PyInterpreterState, 0 until created (written under the
//                             setup lock, see interpreters.ts: read there under it too)
//   Int32   [slots*2 + slot]  requests running in the replica
//
// The groups are known up front: those of the routes asking for K > 1, by resolved name (engine.ts).
import type { ServerConfig } from "../config.ts";
import { ConfigError } from "../config/diagnostics.ts";
import type { Ptr } from "../ffi/libpython.ts";
import type { RouteInterpreters } from "../http/site/host-runtime.ts";
import type { ErrorLog } from "../log/error-log.ts";

export interface ParallelGroup {
  group: string;
  count: number;
  /** The group's first slot; replica r is slot offset + r. */
  offset: number;
}

export interface ParallelInit {
  groups: ParallelGroup[];
  shared: SharedArrayBuffer;
}

/** The oldest Python whose Py_NewInterpreterFromConfig can give an interpreter its own GIL. */
export const PARALLEL_MIN_PYTHON = [3, 12] as const;

/** K > 1 anywhere needs Python 3.12+: a ConfigError naming the Python found and what to do instead. */
export function checkParallelSupport(config: Pick<ServerConfig, "listeners" | "processGroup">, version: string, library: string): void {
  // A host on several listeners is planned once: its routes are the same objects. The routes of the
  // process group this process runs count (a daemon group's run on its own Python).
  const group = config.processGroup || "%{GLOBAL}";
  const routes = new Set(config.listeners.flatMap((listener) => listener.hosts.flatMap((host) => host.routes)));
  const parallel = [...routes].filter((route) => route.parallelInterpreters > 1 && route.processGroup === group);
  if (parallel.length === 0) return;
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [minMajor, minMinor] = PARALLEL_MIN_PYTHON;
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return;
  const which = parallel.map((route) => `'${route.route.url}' (${route.parallelInterpreters})`).join(", ");
  throw new ConfigError(
    undefined,
    `parallel interpreters need Python ${minMajor}.${minMinor} or later (sub-interpreters with their own GIL), ` +
    `but the Python found is ${version} (${library}); asked for by alias ${which}. ` +
    "Use --parallel-interpreters 1 (one interpreter per group, sharing the main GIL), --processes N, " +
    `or a Python ${minMajor}.${minMinor}+ with --python.`,
  );
}

/**
 * Resolved group name -> K, for the groups with K > 1. Routes sharing a group must agree (args.ts
 * checks the names as written; a literal name may still equal %{SERVER}'s), and the main interpreter
 * ("", %{GLOBAL} or an empty name) is one interpreter.
 */
export function parallelGroups(routes: RouteInterpreters[], threads: number, log: ErrorLog): Map<string, number> {
  const counts = new Map<string, { count: number; url: string }>();
  for (const { url, group, count } of routes) {
    const known = counts.get(group);
    if (known && known.count !== count) {
      throw new ConfigError(
        undefined,
        `aliases '${known.url}' and '${url}' share application group '${group}' but ask for ` +
        `${known.count} and ${count} parallel interpreters: give both the same parallel-interpreters=`,
      );
    }
    if (group === "" && count > 1) { // application-group= (empty) names the main interpreter too
      throw new ConfigError(undefined, `alias '${url}': its application group is the main interpreter, which cannot be split into parallel interpreters: give it parallel-interpreters=1`);
    }
    counts.set(group, { count, url });
  }
  const parallel = new Map<string, number>();
  for (const [group, { count }] of counts) {
    if (count <= 1) continue;
    parallel.set(group, count);
    log.info(`Application group '${group}' runs in ${count} interpreters, each with its own GIL.`);
    if (count > threads) {
      log.warn(`Application group '${group}' has ${count} parallel interpreters but the process has ${threads} threads: at most ${threads} of them run at once (raise --threads).`);
    }
  }
  return parallel;
}

/** The layout for these groups (name -> K, K > 1 only). */
export function parallelInit(groups: Map<string, number>): ParallelInit {
  const list: ParallelGroup[] = [];
  let slots = 0;
  for (const [group, count] of groups) {
    list.push({ group, count, offset: slots });
    slots += count;
  }
  return { groups: list, shared: new SharedArrayBuffer(Math.max(slots, 1) * 12) };
}

export class ParallelTable {
  private readonly groups: Map<string, ParallelGroup>;
  private readonly interpreters: Float64Array;
  private readonly load: Int32Array;
  private readonly loadOffset: number;

  constructor(init: ParallelInit) {
    this.groups = new Map(init.groups.map((group) => [group.group, group]));
    const slots = init.shared.byteLength / 12;
    this.interpreters = new Float64Array(init.shared, 0, slots);
    this.load = new Int32Array(init.shared, 0, slots * 3);
    this.loadOffset = slots * 2;
  }

  /** The group's parallel layout; undefined for a group with one interpreter. */
  find(group: string): ParallelGroup | undefined {
    return this.groups.size === 0 ? undefined : this.groups.get(group);
  }

  /** Picks the replica a request runs in and counts it in; release() it after the request. */
  claim(group: ParallelGroup, home: number): number {
    const { count, offset } = group;
    const load = this.load;
    const base = this.loadOffset + offset;
    for (let step = 0; step < count; step++) {
      const replica = (home + step) % count;
      if (Atomics.compareExchange(load, base + replica, 0, 1) === 0) return replica;
    }
    let best = home % count;
    let bestLoad = Atomics.load(load, base + best);
    for (let replica = 0; replica < count; replica++) {
      const current = Atomics.load(load, base + replica);
      if (current < bestLoad) {
        best = replica;
        bestLoad = current;
      }
    }
    Atomics.add(load, base + best, 1);
    return best;
  }

  /** Counts a request in a replica chosen by the caller (an import script is loaded into each). */
  enter(group: ParallelGroup, replica: number): void {
    Atomics.add(this.load, this.loadOffset + group.offset + replica, 1);
  }

  release(group: ParallelGroup, replica: number): void {
    Atomics.sub(this.load, this.loadOffset + group.offset + replica, 1);
  }

  /** The replica's interpreter, 0 while it does not exist. Setup lock held. */
  interpreter(group: ParallelGroup, replica: number): Ptr {
    return this.interpreters[group.offset + replica]!;
  }

  /**
   * Whether `interpreter` is one of the replicas, each with a GIL of its own. Read without the setup
   * lock (the watchdog thread's heartbeat): a replica not published yet reads as 0, never as a torn value.
   */
  ownsGil(interpreter: Ptr): boolean {
    return interpreter !== 0 && this.interpreters.includes(interpreter);
  }

  /** Publishes a replica's new interpreter. Setup lock held. */
  publish(group: ParallelGroup, replica: number, interpreter: Ptr): void {
    this.interpreters[group.offset + replica] = interpreter;
  }
}
