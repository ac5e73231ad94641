// CPU time per request, by thread, for one server under wrk: a time budget that holds on a noisy
// machine (CPU seconds spent, not wall-clock throughput). Threads are grouped by their name
// (/proc/PID/task/TID/comm) across the server's whole process tree.
//
//   node_modules/.bin/bun bench/cpu-budget.ts [--app bench/apps/hello.wsgi] [--threads 8] [--duration 5s]
//         [--connections 32] [--wsgi-bin ./wsgi-bin] [--python /usr/bin/python3] [--alias-match REGEX]
//         [--access-log FILE] [--access-log-format FORMAT] [--perf HZ]
//
// --perf HZ also samples the server with `perf record -g -F HZ` during the measured run and splits
// the main thread's and the workers' CPU per request by where it went (bench/perf_split.py): each
// system call, the kernel's other work, libpython, Bun's own code, JIT-compiled JavaScript.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { wrk } from "./measure.ts";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const app = resolve(args.get("app") ?? "bench/apps/hello.wsgi");
const port = 18000 + Math.floor(Math.random() * 1000);
const ticks = 100; // USER_HZ on Linux

function tree(root: number): number[] {
  const pids = [root];
  for (let i = 0; i < pids.length; i++) {
    for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
      try {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, "utf8").trim();
        if (children) pids.push(...children.split(" ").map(Number));
      } catch {}
    }
  }
  return pids;
}

/** CPU seconds per thread name over the process tree. */
function cpuByName(root: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const pid of tree(root)) {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const seconds = (Number(fields[11]) + Number(fields[12])) / ticks;
        const key = task === String(pid) ? `${name} (main thread)` : name;
        byName.set(key, (byName.get(key) ?? 0) + seconds);
      } catch {}
    }
  }
  return byName;
}

// --alias-match REGEX serves the app through WSGIScriptAliasMatch: a route whose settings are worked
// out per path (host-runtime.ts), where --alias's are made once.
const route = args.has("alias-match") ? ["--alias-match", `${args.get("alias-match")}=${app}`] : ["--alias", `/=${app}`];
const command = [resolve(args.get("wsgi-bin") ?? "wsgi-bin"), ...route, "--host", "127.0.0.1", "--port", String(port),
  "--threads", args.get("threads") ?? "8", "--python", args.get("python") ?? "/usr/bin/python3", "--log-level", "warn",
  // The access log's cost: its writer runs on the main thread for every response.
  ...(args.has("access-log") ? ["--access-log", args.get("access-log")!] : []),
  ...(args.has("access-log-format") ? ["--access-log-format", args.get("access-log-format")!] : [])];
const server = Bun.spawn(command, { stdout: "inherit", stderr: "inherit" });
try {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) break;
    } catch {}
    await Bun.sleep(50);
  }
  const load = { threads: 1, connections: Number(args.get("connections") ?? 32), duration: args.get("duration") ?? "5s" };
  await wrk(`http://127.0.0.1:${port}/`, { ...load, duration: "1s" });
  const perfData = join(tmpdir(), `cpu-budget-${port}.perf`);
  const sampler = args.has("perf")
    ? Bun.spawn(["perf", "record", "-q", "-g", "-F", args.get("perf")!, "-p", String(server.pid), "-o", perfData], { stdout: "ignore", stderr: "inherit" })
    : null;
  if (sampler) await Bun.sleep(300); // perf attaches to every thread before the load starts
  const before = cpuByName(server.pid);
  const result = await wrk(`http://127.0.0.1:${port}/`, load);
  const after = cpuByName(server.pid);
  sampler?.kill("SIGINT");
  await sampler?.exited;
  console.log(`${command.join(" ")}\n${result.requests} requests, ${Math.round(result.rps)} req/s\n`);
  console.log("| thread | CPU µs per request |\n| --- | ---: |");
  let total = 0;
  for (const [name, seconds] of [...after].sort((a, b) => b[1] - a[1])) {
    const used = seconds - (before.get(name) ?? 0);
    if (used <= 0) continue;
    total += used;
    console.log(`| ${name} | ${((used / result.requests) * 1e6).toFixed(1)} |`);
  }
  console.log(`| all | ${((total / result.requests) * 1e6).toFixed(1)} |`);
  if (sampler) {
    const spent = (kind: (name: string) => boolean) =>
      [...after].filter(([name]) => kind(name)).reduce((sum, [name, seconds]) => sum + seconds - (before.get(name) ?? 0), 0);
    printSplit(perfData, server.pid, {
      main: spent((name) => name.endsWith("(main thread)")) / result.requests,
      worker: spent((name) => name === "Worker") / result.requests,
    });
  }
} finally {
  server.kill();
}

/** The perf samples' places, as µs per request of each kind of thread's CPU (bench/perf_split.py). */
function printSplit(perfData: string, pid: number, secondsPerRequest: Record<"main" | "worker", number>): void {
  const script = Bun.spawnSync(["perf", "script", "-i", perfData, "-F", "comm,tid,ip,sym,dso"], { stdout: "pipe", stderr: "ignore" });
  const split = Bun.spawnSync(["python3", resolve(import.meta.dir, "perf_split.py"), String(pid)], { stdin: script.stdout, stdout: "pipe", stderr: "inherit" });
  rmSync(perfData, { force: true });
  if (!split.success) throw new Error(`perf script | bench/perf_split.py failed (is perf installed?)`);
  const places = JSON.parse(split.stdout.toString()) as Record<string, Record<string, number>>;
  for (const kind of ["main", "worker"] as const) {
    const samples = places[kind] ?? {};
    const all = Object.values(samples).reduce((a, b) => a + b, 0);
    if (!all) continue;
    console.log(`\n| ${kind === "main" ? "main thread" : "worker threads"}: where it went (${all} samples) | share | CPU µs per request |\n| --- | ---: | ---: |`);
    for (const [place, count] of Object.entries(samples).sort((a, b) => b[1] - a[1])) {
      if (count / all < 0.005) continue;
      console.log(`| ${place} | ${((count / all) * 100).toFixed(1)}% | ${((count / all) * secondsPerRequest[kind] * 1e6).toFixed(1)} |`);
    }
  }
}
