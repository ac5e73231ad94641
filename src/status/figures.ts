// The status figures as data: what one process reports (ProcessFigures, from stats.ts, also sent
// between processes over the supervisor's IPC) and the report the page, ?json and /metrics show
// (StatusReport): every process merged, per alias and per interpreter (application group).
import { addSparse, quantile, type SparseHistogram } from "./histogram.ts";

export interface RouteFigures {
  alias: string;
  script: string;
  group: string;
  requests: number;
  errors: number;
  latencyMs: number;
  latency: SparseHistogram;
  threadWaitMs: number;
  threadWait: SparseHistogram;
  ran: number;
  gilWaitMs: number;
  appMs: number;
}

export interface ProcessFigures {
  pid: number;
  /** The supervisor's slot number; null for a process nobody supervises. */
  slot: number | null;
  startedAt: number;
  now: number;
  threads: number;
  busy: number;
  queued: number;
  activeRequests: number;
  responses: number;
  bytes: number;
  codes: Record<string, number>;
  /** Responses per second up to the epoch second rateEnd (the last one still counting). */
  rateEnd: number;
  rate: number[];
  routes: RouteFigures[];
}

export interface SupervisorFigures {
  pid: number;
  startedAt: number;
  /** Processes the supervisor runs now (`ready` false: still starting, not asked); ready ones that did not answer in time are in the report's `missing`. */
  children: { slot: number; pid: number; startedAt: number; ready: boolean }[];
}

/** Per alias or per interpreter: counts, latency percentiles, waits. Times in ms. */
export interface Breakdown {
  requests: number;
  errors: number;
  meanMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Waiting for a free worker thread (the queue), from dispatch to the worker's hand-over. */
  threadWaitMeanMs: number | null;
  threadWaitP99Ms: number | null;
  /** Waiting for the GIL, measured by the worker, per request it ran. */
  gilWaitMeanMs: number | null;
  /** Time in the app (and the adapter) less the waits for the GIL and for the client, per request run. */
  appMeanMs: number | null;
  gilWaitSeconds: number;
  appSeconds: number;
  latencySeconds: number;
  threadWaitSeconds: number;
  /** Merged latency buckets (histogram.ts BOUNDS_MS), for Prometheus. */
  latency: number[];
}

export interface StatusReport {
  software: string;
  python: string;
  now: number;
  /** Since the oldest start: the supervisor's when there is one, else this process's. */
  uptimeSeconds: number;
  supervisor: SupervisorFigures | null;
  /** Processes that did not report in time (their figures are missing from the totals). */
  missing: number[];
  /** The process that answered this request. */
  answeredBy: number;
  processes: (Omit<ProcessFigures, "routes" | "rate" | "codes"> & { requestsPerSecond: number; uptimeSeconds: number })[];
  totals: {
    processes: number;
    threads: number;
    busy: number;
    idle: number;
    queued: number;
    activeRequests: number;
    responses: number;
    bytes: number;
    requestsPerSecond: number;
  };
  codes: Record<string, number>;
  /** Responses per second, the last `rate.length` seconds up to `rateEnd` (epoch seconds). */
  rateEnd: number;
  rate: number[];
  aliases: (Breakdown & { alias: string; script: string; group: string })[];
  interpreters: (Breakdown & { group: string; aliases: string[] })[];
}

/** Seconds averaged for requests/s: the last complete ones. */
const RATE_WINDOW = 5;

function perSecond(rate: number[], ageSeconds: number): number {
  // The last cell is the second still counting: left out.
  const window = Math.max(1, Math.min(RATE_WINDOW, Math.floor(ageSeconds)));
  let sum = 0;
  for (let i = rate.length - 1 - window; i < rate.length - 1; i++) sum += rate[i] ?? 0;
  return sum / window;
}

function breakdown(routes: RouteFigures[]): Breakdown {
  const latency: number[] = [];
  const threadWait: number[] = [];
  let requests = 0, errors = 0, latencyMs = 0, threadWaitMs = 0, ran = 0, gilWaitMs = 0, appMs = 0;
  for (const r of routes) {
    requests += r.requests;
    errors += r.errors;
    latencyMs += r.latencyMs;
    threadWaitMs += r.threadWaitMs;
    ran += r.ran;
    gilWaitMs += r.gilWaitMs;
    appMs += r.appMs;
    addSparse(latency, r.latency);
    addSparse(threadWait, r.threadWait);
  }
  const waited = threadWait.reduce((a, b) => a + (b ?? 0), 0);
  return {
    requests,
    errors,
    meanMs: requests ? latencyMs / requests : null,
    p50Ms: quantile(latency, 0.5),
    p99Ms: quantile(latency, 0.99),
    threadWaitMeanMs: waited ? threadWaitMs / waited : null,
    threadWaitP99Ms: quantile(threadWait, 0.99),
    gilWaitMeanMs: ran ? gilWaitMs / ran : null,
    appMeanMs: ran ? appMs / ran : null,
    gilWaitSeconds: gilWaitMs / 1000,
    appSeconds: appMs / 1000,
    latencySeconds: latencyMs / 1000,
    threadWaitSeconds: threadWaitMs / 1000,
    latency: Array.from(latency, (n) => n ?? 0),
  };
}

export function buildReport(
  processes: ProcessFigures[],
  context: { software: string; python: string; supervisor: SupervisorFigures | null; missing: number[] },
): StatusReport {
  const now = Date.now();
  const rateEnd = Math.max(...processes.map((p) => p.rateEnd));
  const length = processes[0]?.rate.length ?? 0;
  const rate = new Array<number>(length).fill(0);
  for (const p of processes) {
    // Align each process's seconds on rateEnd (they answered at slightly different moments).
    const shift = rateEnd - p.rateEnd;
    for (let i = 0; i < p.rate.length; i++) if (i - shift >= 0) rate[i - shift]! += p.rate[i]!;
  }
  const codes: Record<string, number> = {};
  for (const p of processes) for (const [code, n] of Object.entries(p.codes)) codes[code] = (codes[code] ?? 0) + n;
  const started = context.supervisor?.startedAt ?? Math.min(...processes.map((p) => p.startedAt));
  const uptimeSeconds = (now - started) / 1000;

  // Routes are the same in every process (one configuration): merged by alias.
  const byAlias = new Map<string, RouteFigures[]>();
  for (const p of processes) for (const r of p.routes) byAlias.set(r.alias, [...(byAlias.get(r.alias) ?? []), r]);
  const aliases = [...byAlias.values()].map((rs) => ({ alias: rs[0]!.alias, script: rs[0]!.script, group: rs[0]!.group, ...breakdown(rs) }));
  const byGroup = new Map<string, RouteFigures[]>();
  for (const rs of byAlias.values()) for (const r of rs) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r]);
  const interpreters = [...byGroup.entries()].map(([group, rs]) => ({
    group,
    aliases: [...new Set(rs.map((r) => r.alias))],
    ...breakdown(rs),
  }));

  const sorted = [...processes].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.pid - b.pid);
  const threads = sum(processes, (p) => p.threads);
  const busy = sum(processes, (p) => p.busy);
  return {
    software: context.software,
    python: context.python,
    now,
    uptimeSeconds,
    supervisor: context.supervisor,
    missing: context.missing,
    answeredBy: process.pid,
    processes: sorted.map(({ routes: _routes, rate: processRate, codes: _codes, ...rest }) => ({
      ...rest,
      uptimeSeconds: (now - rest.startedAt) / 1000,
      requestsPerSecond: perSecond(processRate, (rest.now - rest.startedAt) / 1000),
    })),
    totals: {
      processes: processes.length,
      threads,
      busy,
      idle: threads - busy,
      queued: sum(processes, (p) => p.queued),
      activeRequests: sum(processes, (p) => p.activeRequests),
      responses: sum(processes, (p) => p.responses),
      bytes: sum(processes, (p) => p.bytes),
      requestsPerSecond: perSecond(rate, uptimeSeconds),
    },
    codes,
    rateEnd,
    rate,
    aliases,
    interpreters,
  };
}

function sum<T>(items: T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}
