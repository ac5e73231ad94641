// Fuzzing (issue #8): seeded random mutations of valid requests (test/helpers/fuzz/) against the real
// server, a bounded count in CI. The seed is fixed and printed; rerun a run or a case with
// WSGI_BIN_FUZZ_SEED=N, WSGI_BIN_FUZZ_COUNT=REQUESTS, WSGI_BIN_FUZZ_CASES=I,J (bench/fuzz.ts runs longer).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeFailure, fuzz, fuzzServerArgs } from "./helpers/fuzz/runner.ts";
import { fixture, type RunningServer, start } from "./helpers/server.ts";

const SEED = Number(process.env.WSGI_BIN_FUZZ_SEED ?? 20261123);
const COUNT = Number(process.env.WSGI_BIN_FUZZ_COUNT ?? 2000);
const CASES = process.env.WSGI_BIN_FUZZ_CASES?.split(",").map(Number);

let server: RunningServer;

beforeAll(async () => {
  server = await start({ args: fuzzServerArgs(fixture("fuzz.wsgi")) });
});
afterAll(async () => {
  await server.stop();
});

test(`${COUNT} fuzzed requests (seed ${SEED}): no crash, no malformed response, nothing answered that was refused or hidden`, async () => {
  console.log(`fuzz: seed ${SEED}, ${CASES ? `cases ${CASES.join(",")}` : `${COUNT} requests`} (WSGI_BIN_FUZZ_SEED, WSGI_BIN_FUZZ_COUNT, WSGI_BIN_FUZZ_CASES)`);
  const report = await fuzz({ port: server.port, pid: server.pid, seed: SEED, requests: COUNT, only: CASES });
  console.log(`fuzz: ${report.cases} cases (${Object.entries(report.byKind).map(([k, n]) => `${n} ${k}`).join(", ")}), ${report.requests} requests, ` +
    `${report.liveness} liveness checks, ${(report.ms / 1000).toFixed(1)} s; responses by status: ${JSON.stringify(report.statuses)}; ` +
    `descriptors ${report.descriptors.join(" -> ")}`);
  const failures = report.failures.map((failure) => describeFailure(failure, SEED));
  if (failures.length) console.log(`fuzz: ${failures.length} failing cases:\n${failures.slice(0, Number(process.env.WSGI_BIN_FUZZ_SHOW ?? 20)).join("\n")}`);
  expect(failures).toEqual([]);
  expect(report.cases).toBeGreaterThan(0);
  // The server's own code never threw while serving (the app's deliberate errors are tracebacks, not these).
  expect(server.log()).not.toMatch(/Internal error serving|\b(TypeError|RangeError|ReferenceError)\b/);
}, 600_000);
