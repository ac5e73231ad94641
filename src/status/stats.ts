// The figures one process keeps for the status page, counted on the hot path: per response a status
// code and a per-second tally; per routed request a few sums and one histogram bucket each for its
// latency and its wait for a thread; per worker run the GIL wait and app time the worker measured
// (pool/request-clock.ts). Typed arrays and number fields only: nothing is allocated per request.
import { APP_MS, DATA_OFFSET, GIL_WAIT_MS } from "../pool/channel.ts";
import type { Pool, WorkerSlot } from "../pool/pool.ts";
import { BUCKETS, bucketOf, sparse } from "./histogram.ts";
import type { ProcessFigures } from "./figures.ts";

/** Seconds of per-second counts kept for the chart. */
export const RATE_SECONDS = 300;

export interface RouteInfo {
  alias: string;
  script: string;
  /** The application group (interpreter) name; "" is the main interpreter. */
  group: string;
}

class RouteCounters {
  requests = 0;
  errors = 0;
  latencyMs = 0;
  threadWaitMs = 0;
  /** Requests a worker ran (the GIL wait and app time are theirs). */
  ran = 0;
  gilWaitMs = 0;
  appMs = 0;
  readonly latency = new Uint32Array(BUCKETS);
  readonly threadWait = new Uint32Array(BUCKETS);
  constructor(readonly info: RouteInfo) {}
}

export class Stats {
  readonly startedAt = Date.now();
  private responses = 0;
  private bytes = 0;
  private readonly codes = new Uint32Array(600);
  /** Responses per second, a ring indexed by the epoch second; `ringSecond` says which second a cell holds. */
  private readonly ring = new Uint32Array(RATE_SECONDS);
  private readonly ringSecond = new Float64Array(RATE_SECONDS);
  private readonly routes: RouteCounters[];
  /** Per worker slot: the route it runs now (-1: none), and its channel's measurements. */
  private readonly slotRoute: Int32Array;
  private readonly slotFigures: Float32Array[];

  /** `pool` is null in a front process whose routes all run in daemon process groups: no threads of its own. */
  constructor(routes: RouteInfo[], private readonly pool: Pool | null, private readonly slot: number | null = null) {
    this.routes = routes.map((info) => new RouteCounters(info));
    const slots = pool?.slots ?? [];
    this.slotRoute = new Int32Array(slots.length).fill(-1);
    this.slotFigures = slots.map((s) => new Float32Array(s.channel.shared, 0, DATA_OFFSET / 4));
  }

  /** Every response this process sent (error pages, status pages and refusals included). */
  response(status: number, bytes: number): void {
    this.responses++;
    this.bytes += bytes;
    if (status >= 100 && status < 600) this.codes[status]!++;
    const second = Math.floor(Date.now() / 1000);
    const cell = second % RATE_SECONDS;
    if (this.ringSecond[cell] !== second) {
      this.ringSecond[cell] = second;
      this.ring[cell] = 0;
    }
    this.ring[cell]!++;
  }

  /** Before the exchange: the worker in `slot` runs a request of `route`. */
  running(slot: WorkerSlot, route: number): void {
    this.slotRoute[slot.index] = route;
  }

  /** The worker in `slot` is done (called before it goes back to the pool): take what it measured. */
  workerDone(slot: WorkerSlot): void {
    const route = this.routes[this.slotRoute[slot.index]!];
    this.slotRoute[slot.index] = -1;
    if (!route) return;
    const figures = this.slotFigures[slot.index]!;
    route.ran++;
    route.gilWaitMs += figures[GIL_WAIT_MS]!;
    route.appMs += figures[APP_MS]!;
  }

  /**
   * A request for `route` is over. performance.now() times: `started` when it was dispatched, `asked`
   * when it asked the pool for a worker and `acquired` when it got one (0: it never did).
   */
  routed(route: number, status: number, started: number, asked: number, acquired: number): void {
    const counters = this.routes[route];
    if (!counters) return;
    const now = performance.now();
    const latency = now - started;
    counters.requests++;
    if (status >= 500) counters.errors++;
    counters.latencyMs += latency;
    counters.latency[bucketOf(latency)]!++;
    if (acquired > 0) {
      const wait = acquired - asked;
      counters.threadWaitMs += wait;
      counters.threadWait[bucketOf(wait)]!++;
    }
  }

  /** This process's figures now, as plain data (sent over IPC, merged by figures.ts). */
  snapshot(activeRequests: number): ProcessFigures {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const rate: number[] = [];
    for (let s = second - RATE_SECONDS + 1; s <= second; s++) {
      const cell = s % RATE_SECONDS;
      rate.push(this.ringSecond[cell] === s ? this.ring[cell]! : 0);
    }
    const codes: Record<string, number> = {};
    for (let code = 100; code < 600; code++) if (this.codes[code]) codes[code] = this.codes[code]!;
    const pool = this.pool;
    return {
      pid: process.pid,
      slot: this.slot,
      startedAt: this.startedAt,
      now,
      threads: pool?.slots.length ?? 0,
      busy: pool?.busy ?? 0,
      queued: pool?.queued ?? 0,
      activeRequests,
      responses: this.responses,
      bytes: this.bytes,
      codes,
      rateEnd: second,
      rate,
      routes: this.routes.map((r) => ({
        ...r.info,
        requests: r.requests,
        errors: r.errors,
        latencyMs: r.latencyMs,
        latency: sparse(r.latency),
        threadWaitMs: r.threadWaitMs,
        threadWait: sparse(r.threadWait),
        ran: r.ran,
        gilWaitMs: r.gilWaitMs,
        appMs: r.appMs,
      })),
    };
  }
}
