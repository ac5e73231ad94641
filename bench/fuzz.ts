// Long fuzz runs (issue #8): the generator and checks of test/fuzz.test.ts (test/helpers/fuzz/) for
// as many requests as asked, against ./wsgi-bin or the source. See bench/README.md.
//
//   bun bench/fuzz.ts --requests 100000                 # a random seed, printed
//   bun bench/fuzz.ts --seed 12345 --cases 77,301       # rerun failing cases
//
// Flags: --requests N (default 100000)  --seed N  --cases I,J  --concurrency N (default 24)
//        --wsgi-bin PATH (default ./wsgi-bin; "source" runs bun src/main.ts)  --python PATH (default /usr/bin/python3)
// Exits 1 if any case failed; the server's error log is kept and its path printed.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { freshSeed } from "../test/helpers/fuzz/random.ts";
import { describeFailure, fuzz, fuzzServerArgs } from "../test/helpers/fuzz/runner.ts";
import { start } from "../test/helpers/server.ts";

const ROOT = resolve(dirname(import.meta.path), "..");

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const requests = Number(option("requests") ?? 100_000);
const seed = Number(option("seed") ?? freshSeed());
const cases = option("cases")?.split(",").map(Number);
const concurrency = Number(option("concurrency") ?? 24);
const binary = option("wsgi-bin") ?? join(ROOT, "wsgi-bin");
const python = option("python") ?? "/usr/bin/python3";
if (binary !== "source" && !existsSync(binary)) throw new Error(`${binary} not found: run npm run build, or give --wsgi-bin source`);

const errorLog = join(mkdtempSync(join(tmpdir(), "wsgi-bin-fuzz-")), "error.log");
const server = await start({
  args: [...fuzzServerArgs(join(ROOT, "test/fixtures/fuzz.wsgi")), "--error-log", errorLog, "--host", "127.0.0.1"],
  python,
  command: binary === "source" ? undefined : [binary],
});
console.log(`fuzz: seed ${seed}, ${cases ? `cases ${cases.join(",")}` : `${requests} requests`}, ${concurrency} connections at once, ` +
  `server ${binary} (pid ${server.pid}) on port ${server.port}, error log ${errorLog}`);
let shown = 0;
const started = Date.now();
const report = await fuzz({
  port: server.port, pid: server.pid, seed, requests, only: cases, concurrency, batch: 500,
  progress(progress) {
    for (; shown < progress.failures.length; shown++) console.log(describeFailure(progress.failures[shown]!, seed));
    const rate = progress.requests / ((Date.now() - started) / 1000);
    process.stdout.write(`fuzz: ${progress.cases} cases, ${progress.requests} requests, ${progress.failures.length} failing, ${rate.toFixed(0)} requests/s\r`);
  },
});
for (; shown < report.failures.length; shown++) console.log(describeFailure(report.failures[shown]!, seed));
await server.stop();
const internal = server.log().split("\n").filter((line) => /Internal error serving|\b(TypeError|RangeError|ReferenceError)\b/.test(line));
console.log(`\nfuzz: seed ${seed}: ${report.cases} cases (${Object.entries(report.byKind).map(([k, n]) => `${n} ${k}`).join(", ")}), ${report.requests} requests ` +
  `in ${(report.ms / 1000).toFixed(0)} s, ${report.liveness} liveness checks; responses by status ${JSON.stringify(report.statuses)}; ` +
  `descriptors ${report.descriptors.join(" -> ")}; ` +
  `${report.failures.length} failing cases, ${internal.length} internal errors in the log`);
for (const line of internal.slice(0, 10)) console.log(line);
process.exit(report.failures.length || internal.length ? 1 : 0);
