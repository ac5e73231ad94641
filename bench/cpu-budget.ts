// CPU time per request, by thread, for one server under wrk: a time budget that holds on a noisy
// machine (CPU seconds spent, not wall-clock throughput). Threads are grouped by their name
// (/proc/PID/task/TID/comm) across the server's whole process tree.
//
//   node_modules/.bin/bun bench/cpu-budget.ts [--app bench/apps/hello.wsgi] [--threads 8] [--duration 5s]
//         [--connections 32] [--wsgi-bin ./wsgi-bin] [--python /usr/bin/python3] [--alias-match REGEX]
//         [--access-log FILE] [--access-log-format FORMAT]
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
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
  const before = cpuByName(server.pid);
  const result = await wrk(`http://127.0.0.1:${port}/`, load);
  const after = cpuByName(server.pid);
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
} finally {
  server.kill();
}
