// --parallel-interpreters: how a CPU-bound pure-Python app scales from one interpreter (one GIL) to two
// (each with its own GIL) in one wsgi-bin process. bench/apps/cpu5ms.wsgi (~5 ms of pure-Python work per
// request), --threads 2, wrk -t2 -c4 against --parallel-interpreters 1 and 2, alternating, on every
// Python 3.12+ found (or those given). Prints req/s for each and the ratio, and how much CPU other
// processes took meanwhile (on a 2-core machine any of it comes out of K=2's second core). Also
// K=1 with --threads 1: one core's worth of Python without two threads contending for one GIL, the
// fairest single-interpreter baseline.
//
//   node_modules/.bin/bun bench/parallel-interpreters.ts                       # from source, 3 rounds of 10 s
//   node_modules/.bin/bun bench/parallel-interpreters.ts --rounds 1 --duration 5s --python ~/.pyenv/versions/3.13.0/bin/python3
//   node_modules/.bin/bun bench/parallel-interpreters.ts --wsgi-bin ./wsgi-bin # the built executable
//   ... --quiet 0                                                               # do not wait for a quiet machine
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../scripts/cold-start.ts";
import { discoverPythons } from "../test/helpers/pythons.ts";
import { killClients, run, wrk } from "./measure.ts";

const ROOT = resolve(import.meta.dir, "..");
const APP = join(ROOT, "bench/apps/cpu5ms.wsgi");

interface Options {
  rounds: number;
  duration: string;
  warmup: string;
  connections: number;
  threads: number;
  pythons: string[];
  command: string[];
  /** Before each run, wait (up to 5 min) until other processes use less than this many cores; 0: never wait. */
  quiet: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    rounds: 3, duration: "10s", warmup: "2s", connections: 4, threads: 2, pythons: [], quiet: 0.15,
    command: [process.execPath, join(ROOT, "src/main.ts")],
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return next;
    };
    switch (argv[i]) {
      case "--rounds": options.rounds = Number(value()); break;
      case "--duration": options.duration = value(); break;
      case "--warmup": options.warmup = value(); break;
      case "--connections": options.connections = Number(value()); break;
      case "--python": options.pythons.push(value()); break;
      case "--wsgi-bin": options.command = [resolve(value())]; break;
      case "--quiet": options.quiet = Number(value()); break;
      default: throw new Error(`unknown option ${argv[i]} (--rounds N --duration D --warmup D --connections N --python PATH --wsgi-bin PATH --quiet CORES)`);
    }
  }
  return options;
}

interface Started {
  child: Bun.Subprocess;
  url: string;
}

/** The server being measured, killed if this script is interrupted. */
let current: Bun.Subprocess | null = null;

async function startServer(options: Options, python: string, interpreters: number, threads: number): Promise<Started> {
  const port = await freePort();
  const child = Bun.spawn([
    ...options.command, "--python", python, "--host", "127.0.0.1", "--port", String(port),
    "--threads", String(threads), "--parallel-interpreters", String(interpreters),
    "--log-level", "warn", "--alias", `/=${APP}`,
  ], { stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  current = child;
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wsgi-bin exited (${child.exitCode}) before answering`);
    try {
      const response = await fetch(url);
      await response.text();
      if (response.status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("wsgi-bin did not answer within 30 s");
    await Bun.sleep(50);
  }
}

async function stopServer({ child }: Started): Promise<void> {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await child.exited;
  clearTimeout(timer);
  current = null;
}

const TICKS_PER_SECOND = 100; // USER_HZ

/** utime + stime (+ cutime + cstime: children waited for, so wrk once it has exited) of a process, in ticks. */
function processTicks(pid: number | "self", children: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
  const own = Number(fields[11]) + Number(fields[12]);
  return children ? own + Number(fields[13]) + Number(fields[14]) : own;
}

/** Busy ticks of the whole machine (every CPU), from /proc/stat. */
function machineTicks(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

interface Measured {
  rps: number;
  /** Cores' worth of CPU used meanwhile by everything but wsgi-bin, wrk and this script: noise. */
  others: number;
}

/**
 * Waits until the machine has been quiet for a second: other processes (nothing of ours runs now)
 * using less than `cores`. On a shared 2-core machine a busy neighbour takes K=2's second core.
 */
async function waitForQuiet(cores: number): Promise<void> {
  if (cores <= 0) return;
  const deadline = Date.now() + 5 * 60_000;
  let waited = false;
  for (;;) {
    const before = machineTicks();
    await Bun.sleep(1000);
    const load = (machineTicks() - before) / TICKS_PER_SECOND;
    if (load < cores) break;
    if (Date.now() > deadline) {
      console.error(`(still ${load.toFixed(2)} cores busy after 5 minutes: measuring anyway)`);
      break;
    }
    if (!waited) console.error(`(waiting for other processes to go below ${cores} cores: ${load.toFixed(2)} now)`);
    waited = true;
  }
}

/** req/s of wsgi-bin with this many interpreters, after a warm-up that loads the app in each. */
async function measure(options: Options, python: string, interpreters: number, threads = options.threads): Promise<Measured> {
  await waitForQuiet(options.quiet);
  const server = await startServer(options, python, interpreters, threads);
  try {
    const load = { threads: 2, connections: options.connections };
    await wrk(server.url, { ...load, duration: options.warmup });
    const before = { machine: machineTicks(), server: processTicks(server.child.pid, false), self: processTicks("self", true), at: performance.now() };
    const rps = (await wrk(server.url, { ...load, duration: options.duration })).rps;
    const seconds = (performance.now() - before.at) / 1000;
    const ours = processTicks(server.child.pid, false) - before.server + processTicks("self", true) - before.self;
    const others = Math.max(0, machineTicks() - before.machine - ours) / TICKS_PER_SECOND / seconds;
    return { rps, others };
  } finally {
    await stopServer(server);
  }
}

/** The app's work for one request, timed in a plain python3 process (best of 20). */
async function workMs(python: string): Promise<number> {
  const { stdout } = await run([python, "-c", `
import runpy, time
app = runpy.run_path(${JSON.stringify(APP)})
times = []
for _ in range(20):
    start = time.perf_counter()
    app["work"](app["N"])
    times.append(time.perf_counter() - start)
print(min(times) * 1000)
`]);
  return Number(stdout.trim());
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const pythons = options.pythons.length
    ? options.pythons.map((executable) => ({ executable, label: executable }))
    : discoverPythons()
        .filter((p) => Number(p.minor.split(".")[1]) >= 12)
        .map((p) => ({ executable: p.executable, label: `${p.version} (${p.source})` }));
  if (pythons.length === 0) throw new Error("no Python 3.12+ found: give one with --python");
  console.log(`wsgi-bin ${options.command.join(" ")}, --threads ${options.threads}, bench/apps/cpu5ms.wsgi, ` +
    `wrk -t2 -c${options.connections} -d${options.duration} after a ${options.warmup} warm-up, ${options.rounds} rounds alternating K=1 and K=2`);
  console.log("");
  console.log("| Python | round | work per request | K=1 req/s | K=2 req/s | K=2 / K=1 | K=1, 1 thread req/s | K=2 / that | other load (cores) K=1 / K=2 / 1 thread |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  const summary: string[] = [];
  for (const python of pythons) {
    const ratios: number[] = [];
    const ones: number[] = [];
    const twos: number[] = [];
    const singles: number[] = [];
    const singleRatios: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const ms = await workMs(python.executable);
      const one = await measure(options, python.executable, 1);
      const two = await measure(options, python.executable, 2);
      const single = await measure(options, python.executable, 1, 1);
      ones.push(one.rps);
      twos.push(two.rps);
      singles.push(single.rps);
      ratios.push(two.rps / one.rps);
      singleRatios.push(two.rps / single.rps);
      console.log(`| ${python.label} | ${round} | ${ms.toFixed(2)} ms | ${one.rps.toFixed(1)} | ${two.rps.toFixed(1)} | ` +
        `${(two.rps / one.rps).toFixed(2)}x | ${single.rps.toFixed(1)} | ${(two.rps / single.rps).toFixed(2)}x | ` +
        `${one.others.toFixed(2)} / ${two.others.toFixed(2)} / ${single.others.toFixed(2)} |`);
    }
    summary.push(`${python.label}: median K=1 ${median(ones).toFixed(1)} req/s, K=2 ${median(twos).toFixed(1)} req/s, ` +
      `ratio ${median(ratios).toFixed(2)}x (rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}); ` +
      `K=1 with 1 thread ${median(singles).toFixed(1)} req/s, K=2 / that ${median(singleRatios).toFixed(2)}x`);
  }
  console.log("");
  for (const line of summary) console.log(line);
}

process.on("SIGINT", () => {
  killClients();
  current?.kill("SIGKILL");
  process.exit(130);
});

await main();
