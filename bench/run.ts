// Peer benchmark suite: wsgi-bin against Apache + mod_wsgi (embedded), uWSGI, gunicorn and waitress,
// all on Debian's /usr/bin/python3, on the apps in bench/apps/. See bench/README.md.
//
//   npm run bench                                          # builds ./wsgi-bin, then everything
//   bun bench/run.ts --only hello,flask --peers apache,wsgi-bin --duration 5s
//
// Flags: --only SCENARIOS  --peers PEERS  --duration 5s  --warmup 1s  --cold-runs 5  --rounds 1
//        --wsgi-bin PATH (default ./wsgi-bin)  --python PATH (default /usr/bin/python3)  --no-install
// Prints a Markdown table; writes raw results to bench/results/suite-<UTC timestamp>.json.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { coldStart } from "../scripts/cold-start.ts";
import { download, killClients, run, sampleRss, upload, wrk } from "./measure.ts";
import { PEERS, type Peer, type PeerContext } from "./peers.ts";
import { medianRound, roundOrder } from "./rounds.ts";
import { SCENARIOS, type Scenario } from "./scenarios.ts";
import { checkAnswer, exited, killStrays, markedEnv, serverLogs, startServer, stopAll, stopServer, waitReady } from "./servers.ts";
import { table, type Outcome, type Results } from "./table.ts";

const ROOT = resolve(dirname(import.meta.path), "..");

interface Options {
  only: string[];
  peers: string[];
  duration: string;
  warmup: string;
  coldRuns: number;
  rounds: number;
  wsgiBin: string;
  python: string;
  install: boolean;
}

/** A sparse file of `bytes` zeros to upload (no disk blocks, read at memory speed). */
function sparseFile(dir: string, bytes: number): string {
  const path = join(dir, `upload-${bytes}.bin`);
  if (!existsSync(path)) {
    writeFileSync(path, "");
    truncateSync(path, bytes);
  }
  return path;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    only: SCENARIOS.map((s) => s.name),
    peers: PEERS.filter((p) => !p.optional).map((p) => p.name),
    duration: "5s",
    warmup: "1s",
    coldRuns: 5,
    rounds: 1,
    wsgiBin: join(ROOT, "wsgi-bin"),
    python: "/usr/bin/python3",
    install: true,
  };
  const list = (text: string, known: string[], what: string) => {
    const names = text.split(",").filter(Boolean);
    for (const name of names) if (!known.includes(name)) throw new Error(`unknown ${what} '${name}' (known: ${known.join(", ")})`);
    return names;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--only") options.only = list(value(), SCENARIOS.map((s) => s.name), "scenario");
    else if (arg === "--peers") options.peers = list(value(), PEERS.map((p) => p.name), "peer");
    else if (arg === "--duration") options.duration = duration(value());
    else if (arg === "--warmup") options.warmup = duration(value());
    else if (arg === "--cold-runs") options.coldRuns = Number(value());
    else if (arg === "--rounds") options.rounds = Number(value());
    else if (arg === "--wsgi-bin") options.wsgiBin = resolve(value());
    else if (arg === "--python") options.python = value();
    else if (arg === "--no-install") options.install = false;
    else if (arg === "--help" || arg === "-h") {
      console.log(readFileSync(import.meta.path, "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n"));
      process.exit(0);
    } else throw new Error(`unknown option '${arg}'`);
  }
  if (!Number.isInteger(options.coldRuns) || options.coldRuns < 1) throw new Error("--cold-runs must be a positive integer");
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error("--rounds must be a positive integer");
  return options;
}

function duration(text: string): string {
  if (!/^\d+(s|m)$/.test(text)) throw new Error(`a duration is like 5s or 1m, not '${text}'`);
  return text;
}

// --- prerequisites ---

async function ensurePackages(peers: Peer[], scenarios: Scenario[]): Promise<void> {
  const wanted = new Set(["wrk", "curl", ...peers.flatMap((p) => p.packages)]);
  if (scenarios.some((s) => s.name === "flask")) wanted.add("python3-flask");
  const missing: string[] = [];
  for (const pkg of wanted) {
    const { stdout } = await run(["dpkg-query", "-W", "-f", "${Status}", pkg]);
    if (!stdout.includes("install ok installed")) missing.push(pkg);
  }
  if (!missing.length) return;
  console.error(`installing: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const argv of [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]]) {
    const child = Bun.spawn(argv, { env, stdout: "ignore", stderr: "inherit" });
    if ((await child.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
  }
}

// --- one scenario on one peer ---

async function measure(scenario: Scenario, peer: Peer, ctx: PeerContext, options: Options): Promise<Outcome> {
  const app = join(ROOT, "bench", "apps", scenario.app);
  const command = peer.command(app, ctx);
  if (scenario.kind === "cold") {
    try {
      const result = await coldStart({
        command: command.argv,
        path: scenario.path,
        runs: options.coldRuns,
        timeoutMs: 30_000,
        cwd: command.cwd ?? ROOT,
        env: markedEnv(command, ctx.tmp),
      });
      return { kind: "cold", ...result };
    } finally {
      const strays = killStrays(ctx.tmp);
      if (strays.length) process.stderr.write(`(killed ${strays.length} process(es) ${peer.name} left behind: ${strays.join(" ")}) `);
    }
  }
  const server = await startServer(peer, command, ctx.tmp, ROOT);
  try {
    await waitReady(server, scenario.readyPath);
    await checkAnswer(server, scenario.check);
    if (scenario.kind === "stream") {
      const sampler = sampleRss(server.pid);
      const transfer = scenario.direction === "upload" ? upload(`${server.url}/`, sparseFile(ctx.tmp, scenario.bytes)) : download(`${server.url}/`);
      const result = await transfer.finally(() => sampler.stop());
      const rss = sampler.stop();
      if (result.status !== 200 || result.bytes !== scenario.bytes || ("answer" in result && result.answer !== String(scenario.bytes))) {
        throw new Error(`curl got status ${result.status} and ${result.bytes} bytes instead of 200 and ${scenario.bytes}`);
      }
      return {
        kind: "stream",
        bytes: result.bytes,
        seconds: result.seconds,
        bytesPerSec: result.bytesPerSec,
        peakRssBytes: rss.peakBytes,
        startRssBytes: rss.startBytes,
        growthBytes: rss.peakBytes - rss.startBytes,
        command: relative(result.command),
      };
    }
    const sampler = sampleRss(server.pid); // the peak covers the warm-up too: it is part of the scenario
    let result, rss;
    try {
      await wrk(server.url + "/", scenario.load(options.warmup));
      result = await wrk(server.url + "/", scenario.load(options.duration));
    } finally {
      rss = sampler.stop();
    }
    const dead = exited(server);
    if (dead) throw new Error(`${dead} during the run`);
    return {
      kind: "wrk",
      rps: result.rps,
      p99Ms: result.p99Ms,
      bytesPerSec: scenario.requestBytes ? result.rps * scenario.requestBytes : result.transferBytesPerSec,
      peakRssBytes: rss.peakBytes,
      startRssBytes: rss.startBytes,
      errors: result.errors,
      errorDetail: result.errorDetail,
      command: relative(result.command),
    };
  } catch (error) {
    const logs = serverLogs(server);
    throw new Error(`${(error as Error).message}${logs ? `\n--- ${peer.name} log (last lines) ---\n${logs}` : ""}`);
  } finally {
    await stopServer(server);
  }
}

/** Machine paths out of anything printed: the repository becomes ".", the scratch dir TMP. */
let tmpDir = "";
function relative(text: string): string {
  return text.replaceAll(ROOT, ".").replaceAll(tmpDir || "\0", "TMP");
}

// --- main ---

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  process.chdir(ROOT);
  const peers = PEERS.filter((p) => options.peers.includes(p.name));
  const scenarios = SCENARIOS.filter((s) => options.only.includes(s.name));
  if (peers.some((p) => p.name.startsWith("wsgi-bin")) && !existsSync(options.wsgiBin)) {
    throw new Error(`${options.wsgiBin} not found: run \`npm run build\` first (npm run bench does)`);
  }
  if (options.install) await ensurePackages(peers, scenarios);

  tmpDir = mkdtempSync("/tmp/wsgi-bin-bench.");
  chmodSync(tmpDir, 0o755); // Apache's children run as www-data when we are root
  const ctx: PeerContext = { root: ROOT, tmp: tmpDir, python: options.python, wsgiBin: options.wsgiBin };
  const started = new Date();
  const commandLine = `bun bench/run.ts ${process.argv.slice(2).join(" ")}`.trim();
  const results: Results = {};
  /** Every round's outcome: rounds[scenario][peer][round] (the table shows the median round). */
  const rounds: Record<string, Record<string, Outcome[]>> = {};
  try {
    const versions: Record<string, string> = {};
    for (const peer of peers) versions[peer.name] = await peer.version(ctx);
    const python = (await run([options.python, "-c", "import platform; print(platform.python_version())"])).stdout.trim();
    const header = [
      `# ${started.toISOString().slice(0, 10)}: ${commandLine}`,
      `# ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Linux ${release()}, Python ${python} (${options.python}) for every server`,
      ...peers.map((p) => `# ${p.name}: ${versions[p.name]}\n#   ${p.settings}`),
      ...scenarios.map((s) => `# scenario ${s.name}: ${s.description}${s.kind === "wrk" ? ` for ${options.duration} after a ${options.warmup} warm-up` : ""}`),
      ...(options.rounds > 1 ? [`# ${options.rounds} rounds, the servers' order turned each round; the tables show each server's median round`] : []),
    ].join("\n");
    console.log(header);

    for (const scenario of scenarios) {
      const byRound: Record<string, Outcome[]> = (rounds[scenario.name] = Object.fromEntries(peers.map((p) => [p.name, []])));
      for (let round = 0; round < options.rounds; round++) {
        for (const peer of roundOrder(peers, round)) {
          if (interrupted) await new Promise(() => {}); // the signal handler exits once all is stopped
          const label = options.rounds > 1 ? ` (round ${round + 1})` : "";
          process.stderr.write(`${scenario.name} / ${peer.name}${label}... `);
          let outcome: Outcome;
          try {
            outcome = await measure(scenario, peer, ctx, options);
            process.stderr.write(`${summary(outcome)}\n`);
          } catch (error) {
            const message = relative((error as Error).message);
            outcome = { kind: "failed", error: message };
            process.stderr.write(`FAILED: ${message}\n`);
          }
          byRound[peer.name]!.push(outcome);
        }
      }
      results[scenario.name] = Object.fromEntries(peers.map((p) => [p.name, medianRound(byRound[p.name]!)]));
    }

    const names = peers.map((p) => p.name);
    console.log(`\n${table(results, names)}\n`);
    // The same runs with each wsgi-bin variant (--processes 2, --threads 128) as the reference of the ratios.
    for (const variant of names.filter((n) => n.startsWith("wsgi-bin-"))) console.log(`${table(results, names, variant)}\n`);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    const file = join(ROOT, "bench", "results", `suite-${started.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "")}.json`);
    const doc = {
      date: started.toISOString(),
      command: commandLine,
      host: { cpus: cpus().length, cpu: cpus()[0]?.model, kernel: release(), python, pythonPath: options.python },
      options: { ...options, wsgiBin: relative(options.wsgiBin) },
      peers: Object.fromEntries(peers.map((p) => [p.name, { version: versions[p.name], settings: p.settings }])),
      scenarios: Object.fromEntries(scenarios.map((s) => [s.name, { app: `bench/apps/${s.app}`, description: s.description }])),
      results,
      ...(options.rounds > 1 ? { rounds } : {}),
    };
    writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
    console.log(`raw results: ${relative(file)}`);
    return Object.values(results).some((byPeer) => Object.values(byPeer).some((o) => o.kind === "failed")) ? 1 : 0;
  } finally {
    await stopAll(tmpDir);
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

function summary(outcome: Outcome): string {
  switch (outcome.kind) {
    case "wrk":
      return `${outcome.rps.toFixed(0)} req/s, p99 ${outcome.p99Ms.toFixed(2)} ms, peak RSS ${(outcome.peakRssBytes / 2 ** 20).toFixed(0)} MiB${outcome.errors ? `, errors: ${outcome.errorDetail}` : ""}`;
    case "stream":
      return `${(outcome.bytesPerSec / 2 ** 20).toFixed(0)} MiB/s, RSS growth ${(outcome.growthBytes / 2 ** 20).toFixed(1)} MiB`;
    case "cold":
      return `median ${outcome.medianMs.toFixed(0)} ms (${outcome.samplesMs.map((ms) => ms.toFixed(0)).join(" ")})`;
    default:
      return outcome.error;
  }
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true; // the scenario loop starts nothing more
    process.stderr.write(`\n${signal}: stopping servers\n`);
    killClients();
    void stopAll(tmpDir).finally(() => {
      if (tmpDir) {
        killStrays(tmpDir); // a cold start may have spawned meanwhile; nothing can spawn after this
        rmSync(tmpDir, { recursive: true, force: true });
      }
      process.exit(130);
    });
  });
}

try {
  process.exitCode = await main();
} catch (error) {
  await stopAll(tmpDir);
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
