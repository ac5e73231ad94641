// Where a cold start's time goes. Starts wsgi-bin --runs times as the peer suite's cold scenario does
// (spawn, poll until the first 200), at --log-level info, and times each phase by the error log's
// timestamps (microseconds, the wall clock) of the line that ends it:
//
//   spawn -> "Initializing Python"   Bun's start, the JS modules, flags, bind, finding Python, the
//                                    first worker threads started, libpython bound
//   -> "listening on"                Py_InitializeEx, the worker pool, the apps
//   -> "Create interpreter"          the request to a worker; Py_NewInterpreter (the app's group)
//   -> "Loading WSGI script"         the adapter imported into that interpreter
//   -> first 200 at the client       the script executed, the request answered
//
//   bun bench/cold-phases.ts [--runs 9] [--wsgi-bin ./wsgi-bin] [--python /usr/bin/python3] [--app bench/apps/hello.wsgi]
import { resolve } from "node:path";
import { freePort } from "../scripts/cold-start.ts";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const runs = Number(args.get("runs") ?? 9);
const binary = resolve(args.get("wsgi-bin") ?? "wsgi-bin");
const python = args.get("python") ?? "/usr/bin/python3";
const app = resolve(args.get("app") ?? "bench/apps/hello.wsgi");

const PHASES = [
  { line: "Initializing Python", name: "to 'Initializing Python': Bun, JS modules, flags, bind, find Python, threads started, libpython bound" },
  { line: "listening on", name: "to 'listening': Py_InitializeEx, pool, apps" },
  { line: "Create interpreter", name: "to 'Create interpreter': request to a worker, Py_NewInterpreter" },
  { line: "Loading WSGI script", name: "to 'Loading WSGI script': the adapter's import" },
] as const;
const LAST = "to the 200: the script, the request";

/** Epoch milliseconds (with the microseconds) of an error log line's `[Tue Nov 24 01:53:01.635690 2026]`. */
function lineTime(line: string): number | null {
  const match = /^\[\w{3} (\w{3}) (\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) (\d{4})\]/.exec(line);
  if (!match) return null;
  const [, month, day, clock, micros, year] = match;
  return new Date(`${month} ${day} ${year} ${clock}`).getTime() + Number(micros) / 1000;
}

const now = () => performance.timeOrigin + performance.now();

async function once(): Promise<number[]> {
  const port = await freePort();
  const start = now();
  const child = Bun.spawn([binary, "--alias", `/=${app}`, "--host", "127.0.0.1", "--port", String(port), "--python", python, "--log-level", "info"],
    { stdout: "ignore", stderr: "pipe" });
  const log = new Response(child.stderr).text();
  let answered = 0;
  try {
    while (!answered) {
      if (child.exitCode !== null) throw new Error(`wsgi-bin exited before answering:\n${await log}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        await response.arrayBuffer();
        if (response.status === 200) answered = now();
      } catch {
        await Bun.sleep(1); // not listening yet
      }
    }
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
  const lines = (await log).split("\n");
  const marks = PHASES.map(({ line }) => {
    const found = lines.find((l) => l.includes(line));
    const time = found ? lineTime(found) : null;
    if (time === null) throw new Error(`no '${line}' line in the log:\n${lines.join("\n")}`);
    return time;
  });
  return [...marks, answered].map((time, i) => time - (i === 0 ? start : [...marks, answered][i - 1]!));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const samples: number[][] = [];
for (let i = 0; i < runs; i++) samples.push(await once());
const totals = samples.map((phases) => phases.reduce((a, b) => a + b, 0));
console.log(`${binary}, ${runs} cold starts (${python}, ${app})\n`);
console.log("| phase | median ms | min ms | max ms |\n| --- | ---: | ---: | ---: |");
[...PHASES.map((p) => p.name), LAST].forEach((name, i) => {
  const values = samples.map((phases) => phases[i]!);
  console.log(`| ${name} | ${median(values).toFixed(1)} | ${Math.min(...values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`);
});
console.log(`| spawn to the first 200 | ${median(totals).toFixed(1)} | ${Math.min(...totals).toFixed(1)} | ${Math.max(...totals).toFixed(1)} |`);
