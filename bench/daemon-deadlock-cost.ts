// What a daemon group's deadlock-timeout= costs on the hello path: the daemon process's CPU per
// request, by thread (/proc/PID/task/*/stat), and its RSS, with the GIL watched (deadlock-timeout=300,
// mod_wsgi's default) and not (deadlock-timeout=0), alternating, ROUNDS runs each, under wrk through
// the front. CPU time spent, not wall-clock throughput: it holds on a shared machine.
//
//   node_modules/.bin/bun bench/daemon-deadlock-cost.ts            # ./wsgi-bin, Debian's python3
//   WSGI_BIN="bun src/main.ts" ROUNDS=3 DURATION=5s node_modules/.bin/bun bench/daemon-deadlock-cost.ts
//   TOGETHER=1 node_modules/.bin/bun bench/daemon-deadlock-cost.ts    # both servers loaded at once
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killClients, wrk } from "./measure.ts";

const root = resolve(import.meta.dir, "..");
const command = (process.env.WSGI_BIN ?? join(root, "wsgi-bin")).split(" ");
const python = process.env.PYTHON ?? "/usr/bin/python3";
const duration = process.env.DURATION ?? "5s";
const rounds = Number(process.env.ROUNDS ?? 3);
const hello = join(root, "bench/apps/hello.wsgi");
const TICKS = 100; // USER_HZ on Linux

interface Task {
  name: string;
  seconds: number;
}

/** CPU seconds of each thread of one process (tid -> its name and time). */
function tasks(pid: number): Map<string, Task> {
  const all = new Map<string, Task>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      all.set(task, { name: task === String(pid) ? `${name} (main thread)` : name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS });
    } catch {
      // a thread that ended meanwhile
    }
  }
  return all;
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);

interface Run {
  deadlockTimeout: number;
  requests: number;
  rps: number;
  errors: number;
  /** µs of the daemon process's CPU per request, by thread. */
  perThread: Map<string, number>;
  total: number;
  rssKiB: number;
  threads: number;
  /** The "Worker" thread (Bun's name for the pool's threads and the watchdog) that used the least CPU, in ms over the run. */
  quietestWorkerMs: number;
}

interface Server {
  deadlockTimeout: number;
  url: string;
  /** The daemon process's pid. */
  daemon: number;
  stop(): Promise<void>;
}

async function startServer(deadlockTimeout: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "wsgi-bin-bench-deadlock-"));
  const logFile = join(dir, "error.log");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = Bun.spawn([...command, "--host", "127.0.0.1", "--port", String(port), "--python", python,
    "--log-level", "info", "--error-log", logFile,
    "--daemon-process", `g,threads=8,deadlock-timeout=${deadlockTimeout}`, "--alias", `/=${hello},process-group=g`,
  ], { stdout: "inherit", stderr: "inherit" });
  const stop = async () => {
    server.kill("SIGTERM");
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  let daemon = 0;
  for (let i = 0; i < 600 && !daemon; i++) {
    daemon = Number(/group 'g' \(pid (\d+)\) ready/.exec(log())?.[1] ?? 0);
    if (!daemon) await Bun.sleep(50);
  }
  if (!daemon) {
    await stop();
    throw new Error(`the daemon process never got ready:\n${log()}`);
  }
  return { deadlockTimeout, url: `http://127.0.0.1:${port}/`, daemon, stop };
}

/** wrk through the front; the daemon process's CPU over the run. */
async function measure(server: Server, connections: number): Promise<Run> {
  const before = tasks(server.daemon);
  const result = await wrk(server.url, { threads: 1, connections, duration });
  const after = tasks(server.daemon);
  const perThread = new Map<string, number>();
  let total = 0;
  let quietestWorkerMs = Infinity;
  for (const [tid, { name, seconds }] of after) {
    const used = seconds - (before.get(tid)?.seconds ?? 0);
    total += used;
    perThread.set(name, (perThread.get(name) ?? 0) + (used / result.requests) * 1e6);
    if (name === "Worker") quietestWorkerMs = Math.min(quietestWorkerMs, used * 1000);
  }
  return {
    deadlockTimeout: server.deadlockTimeout, requests: result.requests, rps: result.rps, errors: result.errors, perThread,
    total: (total / result.requests) * 1e6, rssKiB: rssKiB(server.daemon), threads: after.size, quietestWorkerMs,
  };
}

// TOGETHER=1: both servers under load at the same time (16 connections each), so that whatever else
// the machine runs weighs on both alike; else one after the other (32 connections), alternating.
const together = process.env.TOGETHER === "1";
process.on("SIGINT", () => (killClients(), process.exit(130)));
const runs: Run[] = [];
const report = (run: Run) => console.log(`deadlock-timeout=${run.deadlockTimeout}: ${run.requests} requests (${run.errors} errors), ` +
  `daemon CPU ${run.total.toFixed(1)} µs/request, ${run.threads} threads (the quietest Worker used ${run.quietestWorkerMs.toFixed(0)} ms), ` +
  `RSS ${(run.rssKiB / 1024).toFixed(1)} MiB`);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [0, 300] : [300, 0];
  if (together) {
    const servers = await Promise.all(order.map(startServer));
    try {
      await Promise.all(servers.map((server) => wrk(server.url, { threads: 1, connections: 16, duration: "1s" }))); // warm-up
      for (const run of await Promise.all(servers.map((server) => measure(server, 16)))) (runs.push(run), report(run));
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
    continue;
  }
  for (const timeout of order) {
    const server = await startServer(timeout);
    try {
      await wrk(server.url, { threads: 1, connections: 32, duration: "1s" }); // warm-up, not counted
      const run = await measure(server, 32);
      runs.push(run);
      report(run);
    } finally {
      await server.stop();
    }
  }
}

const names = [...new Set(runs.flatMap((run) => [...run.perThread.keys()]))];
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const side = (timeout: number) => runs.filter((run) => run.deadlockTimeout === timeout);
console.log(`\n${command.join(" ")}: hello.wsgi in a daemon group (threads=8), wrk -t1 -c${together ? 16 : 32} -d${duration}, ` +
  `${rounds} runs each, ${together ? "both at once" : "alternating"}\n`);
console.log("| daemon process thread | CPU µs/request, deadlock-timeout=300 (each run) | deadlock-timeout=0 (each run) |\n| --- | --- | --- |");
const cells = (timeout: number, pick: (run: Run) => number, digits = 1) => side(timeout).map((run) => pick(run).toFixed(digits)).join(", ");
for (const name of names) {
  if (Math.max(...runs.map((run) => run.perThread.get(name) ?? 0)) < 0.05) continue;
  console.log(`| ${name} | ${cells(300, (run) => run.perThread.get(name) ?? 0)} | ${cells(0, (run) => run.perThread.get(name) ?? 0)} |`);
}
console.log(`| all | ${cells(300, (run) => run.total)} | ${cells(0, (run) => run.total)} |`);
console.log(`| threads | ${cells(300, (run) => run.threads, 0)} | ${cells(0, (run) => run.threads, 0)} |`);
console.log(`| quietest Worker thread, CPU ms over the run | ${cells(300, (run) => run.quietestWorkerMs, 0)} | ${cells(0, (run) => run.quietestWorkerMs, 0)} |`);
console.log(`| RSS MiB | ${cells(300, (run) => run.rssKiB / 1024)} | ${cells(0, (run) => run.rssKiB / 1024)} |`);
const on = mean(side(300).map((run) => run.total));
const off = mean(side(0).map((run) => run.total));
const rate = mean(side(300).map((run) => run.rps)) / mean(side(0).map((run) => run.rps));
console.log(`\nCPU per request, 300 over 0: ${(on / off).toFixed(3)}; req/s, 300 over 0: ${rate.toFixed(3)}`);
