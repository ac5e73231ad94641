// Soak (issue #8): a long run of a mix of apps on one wsgi-bin process, reporting its memory (VmRSS)
// and the Python objects of the apps' interpreter after warm-up and at the end, and every request
// that failed. Goal: RSS drift under 5 % after warm-up, and no failure. See bench/README.md.
//
//   npm run build && bun bench/soak.ts                      # 1,000,000 requests
//   bun bench/soak.ts --requests 200000 --max-minutes 10    # as many as fit in 10 minutes
//
// Flags: --requests N (1000000)  --warmup N (20000)  --concurrency N (16)  --samples N (10)
//        --max-minutes M (none)  --seed N  --wsgi-bin PATH (./wsgi-bin)  --python PATH (/usr/bin/python3)
// Exits 1 if a request failed or RSS grew 5 % or more; writes bench/results/soak-<UTC time>.json.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Random } from "../test/helpers/fuzz/random.ts";
import { start } from "../test/helpers/server.ts";

const ROOT = resolve(dirname(import.meta.path), "..");

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1]!;
}

const REQUESTS = Number(option("requests", "1000000"));
const WARMUP = Number(option("warmup", "20000"));
const CONCURRENCY = Number(option("concurrency", "16"));
const SAMPLES = Number(option("samples", "10"));
const MAX_MS = Number(option("max-minutes", "0")) * 60_000;
const SEED = Number(option("seed", "1"));
const BINARY = resolve(option("wsgi-bin", join(ROOT, "wsgi-bin")));
const PYTHON = option("python", "/usr/bin/python3");
if (!existsSync(BINARY)) throw new Error(`${BINARY} not found: run npm run build first`);

/** The mix: each kind's share, its request, and what a correct answer is. 500 is the errors app's correct answer. */
interface Kind {
  name: string;
  weight: number;
  path: string;
  body?: (random: Random) => Uint8Array<ArrayBuffer>;
  check(status: number, body: Uint8Array, sent: number): boolean;
}

const UPLOAD = new Uint8Array(64 * 1024).fill(117);
const text = (body: Uint8Array) => Buffer.from(body).toString("latin1");
const KINDS: Kind[] = [
  { name: "hello", weight: 40, path: "/hello", check: (status, body) => status === 200 && text(body) === "Hello World!" },
  { name: "flask", weight: 25, path: "/flask/", check: (status, body) => status === 200 && text(body).includes('"message":"Hello World!"') },
  {
    name: "upload", weight: 10, path: "/upload",
    body: (random) => UPLOAD.subarray(0, random.range(1, UPLOAD.length)),
    check: (status, body, sent) => status === 200 && text(body) === String(sent),
  },
  { name: "stream", weight: 20, path: "/stream", check: (status, body) => status === 200 && body.length === 65_536 },
  { name: "errors", weight: 5, path: "/error", check: (status) => status === 500 },
];

const scratch = mkdtempSync(join(tmpdir(), "wsgi-bin-soak-"));
const errorLog = join(scratch, "error.log");
// Every app in one application group, so the stats app sees the objects of all of them.
const mount = (url: string, app: string) => ["--alias", `${url}=${join(ROOT, "bench/apps", app)},application-group=soak`];
const server = await start({
  command: [BINARY],
  python: PYTHON,
  args: [
    ...mount("/hello", "hello.wsgi"), ...mount("/flask", "flask_json.wsgi"), ...mount("/upload", "upload_echo.wsgi"),
    ...mount("/stream", "stream_chunks.wsgi"), ...mount("/error", "raises.wsgi"), ...mount("/stats", "python_stats.wsgi"),
    "--host", "127.0.0.1", "--error-log", errorLog,
  ],
});
const base = server.url;

function rssKiB(): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${server.pid}/status`, "latin1"));
  return Number(match![1]);
}

interface Sample {
  requests: number;
  seconds: number;
  rssKiB: number;
  objects: number;
  blocks: number;
}

async function sample(requests: number, since: number): Promise<Sample> {
  const stats = (await (await fetch(`${base}/stats`)).json()) as { objects: number; blocks: number };
  return { requests, seconds: Math.round((Date.now() - since) / 1000), rssKiB: rssKiB(), ...stats };
}

interface Tally {
  sent: number;
  byKind: Record<string, number>;
  /** kind -> what went wrong -> count (a wrong status or body, or a connection error). */
  failures: Record<string, Record<string, number>>;
  failed: number;
}

const newTally = (): Tally => ({ sent: 0, byKind: {}, failures: {}, failed: 0 });

/** Sends `count` requests of the mix over CONCURRENCY keep-alive connections; calls `every` between them. */
async function load(count: number, random: Random, tally: Tally, deadline: number, every?: () => Promise<void>): Promise<void> {
  const total = KINDS.reduce((sum, kind) => sum + kind.weight, 0);
  const pick = (): Kind => {
    let at = random.int(total);
    for (const kind of KINDS) {
      if (at < kind.weight) return kind;
      at -= kind.weight;
    }
    return KINDS[0]!;
  };
  const fail = (kind: Kind, what: string) => {
    tally.failed++;
    const byWhat = (tally.failures[kind.name] ??= {});
    byWhat[what] = (byWhat[what] ?? 0) + 1;
  };
  let issued = 0;
  let pausing: Promise<void> | null = null;
  const step = Math.max(1, Math.floor(count / SAMPLES));
  let nextSample = step;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (issued < count && Date.now() < deadline) {
      if (pausing) await pausing;
      issued++;
      const kind = pick();
      const body = kind.body?.(random);
      tally.sent++;
      tally.byKind[kind.name] = (tally.byKind[kind.name] ?? 0) + 1;
      try {
        const response = await fetch(base + kind.path, body ? { method: "POST", body } : undefined);
        const answer = new Uint8Array(await response.arrayBuffer());
        if (!kind.check(response.status, answer, body?.length ?? 0)) fail(kind, `status ${response.status}, ${answer.length} bytes`);
      } catch (error) {
        fail(kind, `connection error: ${(error as Error).message}`);
      }
      // A sample every `step` requests, while the other connections wait (their requests in flight finish).
      if (every && !pausing && issued >= nextSample && issued < count) {
        nextSample += step;
        pausing = every().finally(() => (pausing = null));
      }
    }
  }));
}

const random = new Random(SEED);
const started = Date.now();
const deadline = MAX_MS ? started + MAX_MS : Infinity;
console.log(`soak: ${BINARY} (pid ${server.pid}) on ${base}, Python ${PYTHON}; ${REQUESTS} requests after ${WARMUP} of warm-up, ` +
  `${CONCURRENCY} connections, mix ${KINDS.map((k) => `${k.name} ${k.weight}%`).join(", ")}${MAX_MS ? `, at most ${MAX_MS / 60_000} minutes` : ""}`);

const warm = newTally();
await load(WARMUP, random, warm, deadline);
const measured = Date.now();
const samples: Sample[] = [await sample(0, measured)];
const show = (s: Sample) =>
  console.log(`soak: ${String(s.requests).padStart(8)} requests ${String(s.seconds).padStart(5)} s  RSS ${(s.rssKiB / 1024).toFixed(1).padStart(6)} MiB  ` +
    `objects ${s.objects}  blocks ${s.blocks}`);
show(samples[0]!);
const tally = newTally();
await load(REQUESTS, random, tally, deadline, async () => {
  const s = await sample(tally.sent, measured);
  samples.push(s);
  show(s);
});
const last = await sample(tally.sent, measured);
samples.push(last);
show(last);

const seconds = (Date.now() - measured) / 1000;
const first = samples[0]!;
const drift = (now: number, then: number) => ((now - then) / then) * 100;
const summary = {
  binary: BINARY, python: PYTHON, seed: SEED, concurrency: CONCURRENCY, mix: KINDS.map(({ name, weight, path }) => ({ name, weight, path })),
  warmup: warm, requests: tally.sent, asked: REQUESTS, seconds, rate: tally.sent / seconds,
  stoppedEarly: tally.sent < REQUESTS,
  rssDriftPercent: drift(last.rssKiB, first.rssKiB),
  objectsDriftPercent: drift(last.objects, first.objects),
  blocksDriftPercent: drift(last.blocks, first.blocks),
  failed: tally.failed, failures: tally.failures, byKind: tally.byKind, samples, errorLog,
  serverAlive: server.proc.exitCode === null && server.proc.signalCode === null,
};
await server.stop();
console.log(`soak: ${tally.sent} requests${summary.stoppedEarly ? ` (stopped at the time limit, of ${REQUESTS} asked)` : ""} in ${seconds.toFixed(0)} s ` +
  `(${summary.rate.toFixed(0)} req/s; ${Object.entries(tally.byKind).map(([k, n]) => `${n} ${k}`).join(", ")}); warm-up ${warm.sent} (${warm.failed} failed)`);
console.log(`soak: RSS ${(first.rssKiB / 1024).toFixed(1)} -> ${(last.rssKiB / 1024).toFixed(1)} MiB (${summary.rssDriftPercent.toFixed(2)} %), ` +
  `Python objects ${first.objects} -> ${last.objects} (${summary.objectsDriftPercent.toFixed(2)} %), ` +
  `pymalloc blocks ${first.blocks} -> ${last.blocks} (${summary.blocksDriftPercent.toFixed(2)} %)`);
console.log(`soak: ${tally.failed} failed requests${tally.failed ? `: ${JSON.stringify(tally.failures)}` : ""}; server ${summary.serverAlive ? "alive" : "DEAD"} at the end; error log ${errorLog}`);
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const out = join(ROOT, "bench/results", `soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, JSON.stringify(summary, null, 2));
console.log(`soak: results in ${out}`);
process.exit(tally.failed || warm.failed || summary.rssDriftPercent >= 5 || !summary.serverAlive ? 1 : 0);
