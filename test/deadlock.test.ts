// --deadlock-timeout (mod_wsgi's deadlock-timeout): a process whose GIL cannot be taken for S seconds
// (a C call that keeps it) logs "deadlock detected" and is replaced by its supervisor, the successor
// listening first. Python that merely runs long, holding the GIL in turns or releasing it, is no
// deadlock, in a sub-interpreter as in the main one, on every Python (3.13 changed how a waiting
// thread asks the holder to let go).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { discoverPythons } from "./helpers/pythons.ts";
import { alive, APACHE_LOG_LINE, fixture, run, start, type RunningServer } from "./helpers/server.ts";

const app = fixture("stuck.wsgi");
const ARGS = ["--deadlock-timeout", "2", "--graceful-timeout", "1", "--log-level", "info",
  "--alias", `/s=${app}`, "--alias", `/g=${app},application-group=%{GLOBAL}`];

async function pid(server: RunningServer, prefix = "/s"): Promise<number> {
  const response = await fetch(`${server.url}${prefix}/`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5000) });
  expect(response.status).toBe(200);
  return Number(await response.text());
}


/** Holds the GIL in a C call from `prefix`'s interpreter; the old process is replaced and gone. */
async function deadlockReplaces(server: RunningServer, prefix: string): Promise<string> {
  const old = await pid(server, prefix);
  const mark = server.log().length;
  const started = performance.now();
  const held = fetch(`${server.url}${prefix}/gil`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.status, () => "cut");
  const log = await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) detected a Python GIL deadlock \\(deadlock-timeout\\): replacing it`), 10_000, mark);
  const seconds = (performance.now() - started) / 1000;
  expect(seconds).toBeGreaterThanOrEqual(2);
  expect(seconds).toBeLessThan(6); // long before the 30 s C call returns
  await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) stopped \\(exit code 0\\)`), 10_000, mark);
  expect(alive(old)).toBe(false);
  expect(await held).toBe("cut");
  expect(await pid(server, prefix)).not.toBe(old);
  return log.split("\n").find((line) => line.includes("deadlock detected")) ?? "";
}

/** A 3 s pure-Python loop from `prefix`'s interpreter: answered by the same process, no deadlock logged. */
async function spinIsNoDeadlock(server: RunningServer, prefix: string): Promise<void> {
  const old = await pid(server, prefix);
  const mark = server.log().length;
  const response = await fetch(`${server.url}${prefix}/spin`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  expect(Number(await response.text())).toBe(old);
  expect(server.log().slice(mark)).not.toContain("deadlock");
}

describe("--deadlock-timeout 2", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "3", ...ARGS] });
  });
  afterAll(() => server?.stop());

  test("time.sleep longer than the timeout releases the GIL: no deadlock", async () => {
    const mark = server.log().length;
    const sleeper = new AbortController();
    const sleeping = fetch(`${server.url}/s/sleep`, { signal: sleeper.signal }).catch(() => null);
    await Bun.sleep(3000);
    expect(server.log().slice(mark)).not.toContain("deadlock");
    expect((await fetch(`${server.url}/s/`)).status).toBe(200); // Python still runs on the other threads
    sleeper.abort();
    await sleeping;
  });

  test("libc sleep through ctypes.PyDLL keeps the GIL: 'deadlock detected' with the pid, the process replaced", async () => {
    const old = await pid(server);
    const line = await deadlockReplaces(server, "/s");
    expect(line).toMatch(APACHE_LOG_LINE);
    expect(line).toContain(`[wsgi:error] [pid ${old}:`);
    expect(line).toMatch(/Python GIL deadlock detected: the GIL has been out of reach for over 2 s \(--deadlock-timeout; last taken [\d.]+ s ago\)/);
    expect(line).toContain(`replacing process ${old}.`);
  }, 30_000);

  test("--help documents it; a value that is not a whole number is a usage error", async () => {
    expect((await run(["--help"])).stdout).toContain("--deadlock-timeout S");
    const r = await run(["--deadlock-timeout", "1.5", app]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--deadlock-timeout.*'1\.5'/);
  });
});

for (const python of discoverPythons()) {
  describe(`Python ${python.version} (${python.source}): --deadlock-timeout`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await start({ python: python.executable, args: ["--threads", "2", ...ARGS] });
    });
    afterAll(() => server?.stop());

    test("a 3 s pure-Python loop in a sub-interpreter is no deadlock", () => spinIsNoDeadlock(server, "/s"));

    test("a C call keeping the GIL in the main interpreter is one: the process is replaced", async () => {
      expect(await deadlockReplaces(server, "/g")).toContain("deadlock detected");
    }, 30_000);
  });
}

// A replica of --parallel-interpreters has a GIL of its own: a C call can keep it while every other
// GIL is free, and the heartbeat must wait in it too. ctypes (the stuck app's GIL-keeping call) loads
// in an own-GIL interpreter from Python 3.13 on.
const ownGilCtypes = discoverPythons().filter((p) => Number(p.minor.split(".")[1]) >= 13);

test("a Python 3.13+ is found for the parallel interpreters' deadlock test", () => {
  expect(ownGilCtypes.length).toBeGreaterThan(0);
});

for (const python of ownGilCtypes) {
  describe(`Python ${python.version} (${python.source}): --deadlock-timeout with --parallel-interpreters 2`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await start({
        python: python.executable,
        args: ["--threads", "4", "--deadlock-timeout", "2", "--graceful-timeout", "1", "--log-level", "info",
          "--alias", `/p=${app},parallel-interpreters=2`],
      });
    });
    afterAll(() => server?.stop());

    test("a 3 s pure-Python loop in a replica is no deadlock", () => spinIsNoDeadlock(server, "/p"));

    test("a C call keeping one replica's GIL while an older request sleeps in the other: the process is replaced", async () => {
      const sleeper = new AbortController();
      const sleeping = fetch(`${server.url}/p/sleep`, { signal: sleeper.signal }).catch(() => null);
      // The older request holds one replica (its GIL free while it sleeps): the next ones go to the other.
      await Bun.sleep(500);
      expect(await deadlockReplaces(server, "/p")).toContain("deadlock detected");
      sleeper.abort();
      await sleeping;
    }, 30_000);
  });
}
