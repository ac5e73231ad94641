// Daemon process groups, measured: what the hop from a front process to a daemon process costs
// (hello.wsgi embedded, in a one-process group, in a two-process group, by wrk), and how long the
// lifecycle events take under light load, with the failed requests counted:
//  - a script edit: its group restarts one process at a time (the supervisor's "restarted ... in" line,
//    and the wait of the first request after the edit, which is held for a fresh process);
//  - kill -9 of one of two processes: until its replacement is ready;
//  - kill -9 of a group's only process: until a request is answered again (requests wait for it).
//
//   node_modules/.bin/bun bench/daemons.ts                 # ./wsgi-bin, Debian's python3
//   WSGI_BIN="bun src/main.ts" DURATION=10s ROUNDS=3 node_modules/.bin/bun bench/daemons.ts
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { wrk, killClients } from "./measure.ts";

const root = resolve(import.meta.dir, "..");
const command = (process.env.WSGI_BIN ?? join(root, "wsgi-bin")).split(" ");
const python = process.env.PYTHON ?? "/usr/bin/python3";
const duration = process.env.DURATION ?? "5s";
const rounds = Number(process.env.ROUNDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), "wsgi-bin-bench-daemons-"));
const hello = join(root, "examples/hello.wsgi");
const edited = join(dir, "edited.wsgi");
writeFileSync(edited, readFileSync(join(root, "test/fixtures/pid.wsgi"), "utf8"));
const logFile = join(dir, "error.log");
const port = 20000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;

const server = Bun.spawn([...command,
  "--port", String(port), "--python", python, "--log-level", "info", "--error-log", logFile,
  "--daemon-process", "one,threads=8", "--daemon-process", "two,processes=2,threads=8",
  "--alias", `/embedded=${hello}`, "--alias", `/one=${hello},process-group=one`, "--alias", `/two=${hello},process-group=two`,
  "--alias", `/edited=${edited},process-group=two`, "--alias", `/pid-one=${join(root, "test/fixtures/pid.wsgi")},process-group=one`,
], { stdout: "inherit", stderr: "inherit" });
const cleanup = () => {
  killClients();
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
};
process.on("SIGINT", () => (cleanup(), process.exit(130)));

const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
async function waitLog(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(log().slice(from));
    if (match) return match;
    if (Date.now() > end) throw new Error(`never logged ${pattern}`);
    await Bun.sleep(10);
  }
}
/** The time in an error log line ("[Mon Nov 23 22:56:43.765000 2026] ..."), in ms. */
function stamp(line: string): number {
  const [, month, day, time, micros, year] = /^\[\w+ (\w+) (\d+) ([\d:]+)\.(\d+) (\d+)\]/.exec(line)!;
  return Date.parse(`${month} ${day} ${year} ${time}`) + Number(micros) / 1000;
}

/** Light load (4 loops, 10 ms apart) on `paths` until `until` settles: failures per path. */
async function lightLoad(paths: string[], until: Promise<unknown>) {
  let done = false;
  void until.finally(() => (done = true));
  const counts = paths.map((path) => ({ path, ok: 0, failed: 0 }));
  await Promise.all(counts.flatMap((count) => Array.from({ length: 2 }, async () => {
    while (!done) {
      try {
        const response = await fetch(url + count.path);
        await response.arrayBuffer();
        if (response.status === 200) count.ok++;
        else count.failed++;
      } catch {
        count.failed++;
      }
      await Bun.sleep(10);
    }
  })));
  return counts;
}

const pidOf = async (path: string) => Number((await (await fetch(url + path)).text()).split(" ")[0]);

try {
  await waitLog(/group 'two' \(pid \d+\) ready[\s\S]*group 'two' \(pid \d+\) ready/);
  await waitLog(/group 'one' \(pid \d+\) ready/);
  await waitLog(/Process 0 \(pid \d+\) ready/);

  console.log(`wsgi-bin daemon groups, hello.wsgi, ${python}, wrk -t2 -c32 -d${duration}, median of ${rounds}`);
  console.log("| route | req/s | p99 ms |\n|---|---|---|");
  for (const path of ["/embedded", "/one", "/two"]) {
    const runs = [];
    for (let i = 0; i < rounds; i++) runs.push(await wrk(url + path, { threads: 2, connections: 32, duration }));
    runs.sort((a, b) => a.rps - b.rps);
    const median = runs[Math.floor(runs.length / 2)]!;
    console.log(`| ${path} | ${Math.round(median.rps)} | ${median.p99Ms.toFixed(2)} |${median.errors ? ` errors: ${median.errorDetail}` : ""}`);
  }

  // A script edit: group 'two' restarts one process at a time.
  let from = log().length;
  let firstWait = 0;
  const edit = Bun.sleep(1000).then(async () => {
    const now = new Date();
    utimesSync(edited, now, now);
    const started = performance.now();
    await (await fetch(`${url}/edited`)).text();
    firstWait = performance.now() - started;
  });
  const restarted = edit.then(() => waitLog(/Daemon process group 'two' restarted: 2 processes in ([\d.]+) s\./, from));
  const editLoad = await lightLoad(["/edited", "/two", "/one", "/embedded"], restarted.then(() => Bun.sleep(500)));
  const seconds = (await restarted)[1];
  console.log(`\nscript edit: group 'two' restarted in ${seconds} s (supervisor's count, notice to last successor ready); ` +
    `the first request after the edit waited ${firstWait.toFixed(0)} ms; failed requests: ` +
    editLoad.map((c) => `${c.path} ${c.failed}/${c.ok + c.failed}`).join(", "));

  // kill -9 of one of group 'two''s processes.
  from = log().length;
  let victim = 0;
  const killed = Bun.sleep(1000).then(async () => {
    victim = await pidOf("/edited");
    process.kill(victim, "SIGKILL");
    return waitLog(new RegExp(`(.*pid ${victim}\\) died with signal SIGKILL.*)[\\s\\S]*?(.*group 'two' \\(pid \\d+\\) ready\\..*)`), from);
  });
  const killLoad = await lightLoad(["/edited", "/one"], killed.then(() => Bun.sleep(500)));
  const match = await killed;
  console.log(`kill -9 of 1 of 2: replacement ready ${(stamp(match[2]!) - stamp(match[1]!)).toFixed(0)} ms after the death was logged; failed requests: ` +
    killLoad.map((c) => `${c.path} ${c.failed}/${c.ok + c.failed}`).join(", "));

  // kill -9 of group 'one''s only process: requests wait for its replacement.
  from = log().length;
  const only = await pidOf("/pid-one");
  const killedAt = performance.now();
  process.kill(only, "SIGKILL");
  let back = 0;
  const recovered = (async () => {
    for (;;) {
      const response = await fetch(`${url}/pid-one`);
      const pid = Number((await response.text()).split(" ")[0]);
      if (response.status === 200 && pid !== only) return (back = performance.now() - killedAt);
      await Bun.sleep(5);
    }
  })();
  const onlyLoad = await lightLoad(["/one", "/embedded"], recovered.then(() => Bun.sleep(300)));
  console.log(`kill -9 of a group's only process: answered again by its replacement ${back.toFixed(0)} ms after the kill; failed requests: ` +
    onlyLoad.map((c) => `${c.path} ${c.failed}/${c.ok + c.failed}`).join(", "));
} finally {
  cleanup();
}
