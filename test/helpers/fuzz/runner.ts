// Runs fuzz cases against a running server: each case on its own connection, its bytes cut into
// writes with pauses, several connections at once; between batches the server must still be alive
// and serve a well-behaved request. Shared by test/fuzz.test.ts (bounded) and bench/fuzz.ts (long).
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import { alive } from "../server.ts";
import { type FuzzCase, makeCase } from "./cases.ts";
import { judge, type Outcome } from "./judge.ts";
import { FUZZ_LIMITS, type FuzzLimits } from "./requests.ts";

/** The longest a connection may outlive its case: a lingering close (2 s idle) and the sweep (1 s). */
const LINGER_SETTLE_MS = 3_000;

/** The flags the fuzzed server runs with: small limits and timeouts so every path is reached quickly. */
export function fuzzServerArgs(fixture: string, limits: FuzzLimits = FUZZ_LIMITS): string[] {
  return [
    "--alias", `/fuzz=${fixture}`, "--threads", "4",
    "--limit-request-line", String(limits.requestLine), "--limit-request-fields", String(limits.fields),
    "--limit-request-field-size", String(limits.fieldSize), "--limit-request-body", String(limits.body),
    "--max-keep-alive-requests", String(limits.maxKeepAliveRequests),
    "--request-read-timeout", "1", "--keep-alive-timeout", "1", "--timeout", "1",
  ];
}

export interface FuzzOptions {
  port: number;
  /** The server's pid: it must stay alive. */
  pid: number;
  seed: number;
  /** Stop once this many requests were sent (cases hold 1-5). */
  requests: number;
  /** Connections at once. */
  concurrency?: number;
  /** Cases between liveness checks. */
  batch?: number;
  /** How long one connection may take before it counts as a hang (ms). */
  caseDeadlineMs?: number;
  /** Only these case indexes (to rerun a failure). */
  only?: number[];
  limits?: FuzzLimits;
  progress?: (report: FuzzReport) => void;
}

export interface FuzzFailure {
  index: number;
  kind: string;
  notes: string[];
  problems: string[];
  sent: string;
  received: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  requests: number;
  /** Final responses by status. */
  statuses: Record<number, number>;
  byKind: Record<string, number>;
  liveness: number;
  /** The server's open descriptors before the run and once its connections settled after it. */
  descriptors: [number, number];
  failures: FuzzFailure[];
  ms: number;
}

const show = (bytes: Buffer, most = 600) => JSON.stringify(bytes.toString("latin1").slice(0, most)) + (bytes.length > most ? `... (${bytes.length} bytes)` : "");

/** Sends one case and collects everything the server says until it closes (or the deadline). */
export function send(port: number, fuzzCase: FuzzCase, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const errors: string[] = [];
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed, errors });
    };
    const timer = setTimeout(() => finish(false), deadlineMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => errors.push((error as NodeJS.ErrnoException).code ?? error.message));
    socket.on("close", () => finish(true));
    socket.once("connect", async () => {
      let from = 0;
      for (const write of fuzzCase.writes) {
        if (write.delayMs) await Bun.sleep(write.delayMs);
        if (done || socket.destroyed) return;
        socket.write(fuzzCase.bytes.subarray(from, write.end));
        from = write.end;
      }
      if (fuzzCase.halfClose && !done) socket.end();
    });
  });
}

/** A well-behaved request on a fresh connection: answered 200 with its own id, or the reason it was not. */
export async function wellBehaved(port: number, id: string): Promise<string | null> {
  const request = `GET /fuzz/echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: ${id}\r\nConnection: close\r\n\r\n`;
  const outcome = await send(port, {
    index: -1, kind: "clean", requests: [], smuggled: [], bytes: Buffer.from(request), writes: [{ end: request.length, delayMs: 0 }], halfClose: false, notes: [],
  }, 5_000);
  const text = outcome.received.toString("latin1");
  if (!text.startsWith("HTTP/1.1 200 ") || !text.includes(`X-Fuzz-Id: ${id}\r\n`)) return `a well-behaved request got ${show(outcome.received, 200)}`;
  return null;
}

/** Open file descriptors of a process (Linux): sockets left open show here. */
function descriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}


export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const limits = options.limits ?? FUZZ_LIMITS;
  const concurrency = options.concurrency ?? 24;
  const batch = options.batch ?? 100;
  const deadline = options.caseDeadlineMs ?? 15_000;
  const started = Date.now();
  const report: FuzzReport = { seed: options.seed, cases: 0, requests: 0, statuses: {}, byKind: {}, liveness: 0, descriptors: [0, 0], failures: [], ms: 0 };
  // The baseline once the app is loaded (its first request opens and closes files of its own).
  const warm = await wellBehaved(options.port, "warmup");
  if (warm) report.failures.push({ index: -1, kind: "liveness", notes: ["before the run"], problems: [warm], sent: "", received: "" });
  report.descriptors[0] = descriptors(options.pid);
  const indexes = options.only ? [...options.only] : null;
  let next = 0;
  const take = (): FuzzCase | null => {
    if (indexes ? indexes.length === 0 : report.requests >= options.requests) return null;
    const fuzzCase = makeCase(options.seed, indexes ? indexes.shift()! : next++, limits);
    report.requests += fuzzCase.requests.length;
    return fuzzCase;
  };
  const run = async (fuzzCase: FuzzCase) => {
    const outcome = await send(options.port, fuzzCase, deadline);
    const verdict = judge(fuzzCase, outcome, limits);
    report.cases++;
    report.byKind[fuzzCase.kind] = (report.byKind[fuzzCase.kind] ?? 0) + 1;
    for (const status of verdict.statuses) report.statuses[status] = (report.statuses[status] ?? 0) + 1;
    if (verdict.problems.length) {
      report.failures.push({
        index: fuzzCase.index, kind: fuzzCase.kind, notes: fuzzCase.notes, problems: verdict.problems,
        sent: `${show(fuzzCase.bytes)} in ${fuzzCase.writes.length} writes${fuzzCase.halfClose ? ", then half-closed" : ""}`,
        received: `${show(outcome.received)}${outcome.closed ? "" : " (not closed)"}${outcome.errors.length ? ` (socket errors: ${outcome.errors.join(", ")})` : ""}`,
      });
    }
  };
  for (let round = 0; ; round++) {
    const cases: FuzzCase[] = [];
    while (cases.length < batch) {
      const fuzzCase = take();
      if (!fuzzCase) break;
      cases.push(fuzzCase);
    }
    if (cases.length === 0) break;
    const queue = [...cases];
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let fuzzCase = queue.shift(); fuzzCase; fuzzCase = queue.shift()) await run(fuzzCase);
    }));
    // Between batches: the process is alive and a well-behaved client is served.
    const problem = !alive(options.pid) ? `the server process ${options.pid} is gone` : await wellBehaved(options.port, `alive${round}`);
    report.liveness++;
    if (problem) {
      report.failures.push({ index: -1, kind: "liveness", notes: [`after batch ${round}`], problems: [problem], sent: "", received: "" });
      break;
    }
    options.progress?.(report);
  }
  // Every connection ends: closed by the client, by a timeout, or at the end of a lingering close.
  const settle = Date.now() + 3 * LINGER_SETTLE_MS;
  do {
    await Bun.sleep(250);
    report.descriptors[1] = descriptors(options.pid);
  } while (report.descriptors[1] > report.descriptors[0] && Date.now() < settle);
  if (report.descriptors[1] > report.descriptors[0]) {
    report.failures.push({
      index: -1, kind: "leak", notes: [], sent: "", received: "",
      problems: [`${report.descriptors[1] - report.descriptors[0]} more descriptors open than before the run, ${(3 * LINGER_SETTLE_MS) / 1000} s after it`],
    });
  }
  report.ms = Date.now() - started;
  return report;
}

/** A failure as text, with what reproduces it. */
export function describeFailure(failure: FuzzFailure, seed: number): string {
  return [
    `case ${failure.index} (${failure.kind}; WSGI_BIN_FUZZ_SEED=${seed} WSGI_BIN_FUZZ_CASES=${failure.index}): ${failure.notes.join("; ") || "no mutation"}`,
    ...failure.problems.map((problem) => `  - ${problem}`),
    `  sent: ${failure.sent}`,
    `  received: ${failure.received}`,
  ].join("\n");
}
