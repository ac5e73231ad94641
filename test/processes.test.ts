// --processes N: N processes on one port under a supervisor that replaces the dead, reloads on
// SIGHUP with no failed request, and stops gracefully on SIGTERM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { discoverPythons } from "./helpers/pythons.ts";
import { fixture, get, start, tempDir, type RunningServer } from "./helpers/server.ts";
import { request, WireClient } from "./helpers/wire-client.ts";

const app = fixture("pid.wsgi");

/** Concurrent fetch loops for `ms`: how many requests succeeded and failed, and the pids seen. */
async function load(url: string, ms: number, concurrency = 4) {
  let ok = 0;
  let failed = 0;
  const pids = new Set<number>();
  const end = Date.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      try {
        const response = await fetch(url);
        const text = await response.text();
        if (response.status === 200) {
          ok++;
          pids.add(Number(text.split(" ")[0]));
        } else failed++;
      } catch {
        failed++;
      }
    }
  }));
  return { ok, failed, pids };
}

/**
 * Keep-alive clients, each sending its next request `thinkMs` after the last response, on the same
 * connection, without looking whether the server closed it meanwhile: as a client does whose request
 * is already on its way when the server's close goes out (a network's round trip, a busy client). A
 * request that gets no response is a failure, with no retry (the fetch()-based SIGHUP test above
 * passed on the code that lost such requests); a response that says Connection: close is followed
 * by a new connection.
 */
async function keepAliveLoad(port: number, path: string, until: Promise<unknown>, clients = 16, thinkMs = 20) {
  let done = false;
  void until.finally(() => (done = true));
  let ok = 0;
  let failed = 0;
  let closes = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    let client = new WireClient(port);
    while (!done) {
      try {
        await client.send(request(path));
        const response = await client.response({ timeoutMs: 5_000 });
        if (response.status === 200) ok++;
        else failed++;
        if (response.header("connection") !== "close") {
          await Bun.sleep(thinkMs);
          continue;
        }
        closes++;
      } catch {
        failed++;
      }
      client.close();
      client = new WireClient(port);
    }
    client.close();
  }));
  return { ok, failed, closes };
}

/** The pids answering `requests` requests, each on a new connection (SO_REUSEPORT spreads connections). */
async function pidsServing(url: string, requests = 60): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < requests; i++) {
    const response = await fetch(url, { headers: { connection: "close" } });
    pids.add(Number((await response.text()).split(" ")[0]));
  }
  return pids;
}

describe("--processes", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--processes", "2", "--log-level", "info", "--alias", `/p=${app}`] });
    await server.waitForLog(/listening on[\s\S]*listening on/, 10_000); // both children up
  });
  afterAll(() => server?.stop());

  test("two processes, neither of them the supervisor, serve the port; wsgi.multiprocess is True", async () => {
    const pids = await pidsServing(`${server.url}/p`, 200);
    expect(pids.size).toBe(2);
    expect(pids.has(server.pid)).toBe(false);
    expect(await (await fetch(`${server.url}/p`)).text()).toEndWith(" True");
  });

  test("a child killed with SIGKILL is logged and replaced; requests keep being served", async () => {
    const [victim] = [...(await pidsServing(`${server.url}/p`))];
    const from = server.log().length;
    const during = load(`${server.url}/p`, 2500);
    await Bun.sleep(500);
    process.kill(victim!, "SIGKILL");
    const result = await during;
    await server.waitForLog(new RegExp(`pid ${victim}\\) died with signal SIGKILL`), 5000, from);
    await server.waitForLog(/Started process \d \(pid \d+\)/, 5000, from);
    // Only requests in flight on the killed process may fail (4 concurrent loops: at most 4).
    expect(result.failed).toBeLessThanOrEqual(4);
    expect(result.ok).toBeGreaterThan(100);
    await Bun.sleep(1000);
    const after = await pidsServing(`${server.url}/p`, 200);
    expect(after.size).toBe(2);
    expect(after.has(victim!)).toBe(false);
  });

  test("an app calling os._exit takes its process down; it is replaced and the exit code logged", async () => {
    const from = server.log().length;
    await fetch(`${server.url}/p?exit`).catch(() => null);
    await server.waitForLog(/died with exit code 3/, 5000, from);
    await server.waitForLog(/Started process/, 5000, from);
    await server.waitForLog(/listening on/, 10_000, from);
    expect((await fetch(`${server.url}/p`)).status).toBe(200);
  });

  test("SIGHUP under load: new processes replace the old ones with zero failed requests", async () => {
    const before = await pidsServing(`${server.url}/p`);
    const from = server.log().length;
    const during = load(`${server.url}/p`, 4000);
    await Bun.sleep(800);
    process.kill(server.pid, "SIGHUP");
    const result = await during;
    await server.waitForLog(/replacing processes gracefully/, 2000, from);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    const after = await pidsServing(`${server.url}/p`, 200);
    expect(after.size).toBe(2);
    for (const pid of before) expect(after.has(pid)).toBe(false);
  });

  test("SIGHUP with keep-alive clients whose next request is on its way: none meets a closing connection", async () => {
    // An old process closed its idle keep-alive connections at once: a request on its way met the close
    // (wrk -c32: up to 32 read errors per reload). Now they close once idle 250 ms, and a request
    // arriving meanwhile is answered with Connection: close.
    const from = server.log().length;
    const reloaded = Bun.sleep(500).then(async () => {
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog(/Process 0 \(pid \d+\) stopped \(exit code 0\): replaced by pid \d+ \(SIGHUP reload\)/, 20_000, from);
      await server.waitForLog(/Process 1 \(pid \d+\) stopped \(exit code 0\): replaced by pid \d+ \(SIGHUP reload\)/, 20_000, from);
    });
    const result = await keepAliveLoad(server.port, "/p", reloaded.then(() => Bun.sleep(300)));
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    expect(result.closes).toBeGreaterThan(0); // the old processes' last responses said so
  }, 30_000);
});

describe("graceful stop", () => {
  test("SIGTERM with a slow request in flight: it completes, then every process exits 0", async () => {
    const server = await start({ args: ["--processes", "2", "--alias", `/p=${app}`] });
    await server.waitForLog(/listening on[\s\S]*listening on/, 10_000);
    const slow = fetch(`${server.url}/p?sleep1.5`).then(async (r) => [r.status, await r.text()] as const);
    await Bun.sleep(300);
    const code = server.stop();
    const [status, body] = await slow;
    expect(status).toBe(200);
    expect(body).toEndWith(" True");
    expect(await code).toBe(0);
    expect(server.log()).toContain("All processes stopped");
  });

  test("one process (no supervisor): SIGTERM lets the request in flight finish", async () => {
    const server = await start({ args: ["--alias", `/p=${app}`] });
    const slow = fetch(`${server.url}/p?sleep1`).then((r) => r.status);
    await Bun.sleep(300);
    const code = server.stop();
    expect(await slow).toBe(200);
    expect(await code).toBe(0);
  });
});

describe("atexit functions at a graceful exit (as mod_wsgi runs them when it destroys its interpreters)", () => {
  const atexitApp = fixture("atexit.wsgi");

  /** Registers one exit function per request (`word`), stops the server, and returns the lines they wrote. */
  async function exitLines(args: string[], paths: string[], python?: string): Promise<{ lines: string[]; log: string; code: number | null }> {
    const file = join(tempDir(), "exit.txt");
    const server = await start({ args: [...args, "--log-level", "info"], python });
    // At once, each a while: a parallel group's replicas share them.
    const answers = await Promise.all(paths.map((path, i) => get(`${server.url}${path}?path=${encodeURIComponent(file)}&word=w${i}&sleep=0.2`)));
    expect(answers.map((answer) => answer.text)).toEqual(paths.map(() => "registered"));
    const code = await server.stop();
    const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").sort() : [];
    return { lines, log: server.log(), code };
  }

  test("one process: each interpreter's run, %{GLOBAL}'s too; one that raises is logged and the others still run", async () => {
    const { lines, log, code } = await exitLines(
      ["--alias", `/a=${atexitApp}`, "--alias", `/g=${atexitApp},application-group=%{GLOBAL}`], ["/a", "/g", "/a"]);
    expect(code).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^w0 .*\|\/a \d+$/), expect.stringMatching(/^w1 %\{GLOBAL\} \d+$/), expect.stringMatching(/^w2 .*\|\/a \d+$/)]);
    expect(log).toMatch(/Running the exit functions of application group '%\{GLOBAL\}'/);
    expect(log).toMatch(/RuntimeError: an exit function that fails: w1/);
    expect(log).toMatch(/RuntimeError: an exit function that fails: w2/);
    expect(log.indexOf("an exit function that fails")).toBeLessThan(log.indexOf("exiting after SIGTERM"));
  });

  test("a daemon process group's processes run theirs when the supervisor stops them", async () => {
    const { lines, code } = await exitLines(
      ["--daemon-process", "d,processes=1,threads=2", "--alias", `/d=${atexitApp},process-group=d`], ["/d", "/d"]);
    expect(code).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^w0 .*\|\/d \d+$/), expect.stringMatching(/^w1 .*\|\/d \d+$/)]);
  });

  const modern = discoverPythons().find((p) => Number(p.minor.split(".")[1]) >= 12);
  test("--parallel-interpreters 2 (Python 3.12+): every replica made runs its own", async () => {
    expect(modern).toBeDefined(); // parallel.test.ts needs one too
    const { lines, code } = await exitLines(
      ["--parallel-interpreters", "2", "--threads", "4", "--alias", `/p=${atexitApp}`], ["/p", "/p", "/p", "/p"], modern!.executable);
    expect(code).toBe(0);
    expect(lines.map((line) => line.split(" ")[0])).toEqual(["w0", "w1", "w2", "w3"]);
    expect(new Set(lines.map((line) => line.split(" ")[2])).size).toBe(2); // both replicas served, both ran theirs
    // One request: one replica made; the other is not made at exit only to run nothing.
    const one = await exitLines(["--parallel-interpreters", "2", "--alias", `/p=${atexitApp}`], ["/p"], modern!.executable);
    expect(one.lines.map((line) => line.split(" ")[0])).toEqual(["w0"]);
    expect(one.log.match(/Create interpreter .* with its own GIL/g)).toHaveLength(1);
  });
});

describe("first requests racing a slow import", () => {
  for (const group of ["%{GLOBAL}", "%{RESOURCE}"]) {
    test(`8 concurrent first requests all get the loaded app (${group})`, async () => {
      const server = await start({ args: ["--alias", `/s=${fixture("slow-import.wsgi")},application-group=${group}`] });
      try {
        const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server.url}/s`).then((r) => r.status)));
        expect(statuses).toEqual(Array(8).fill(200));
        expect(server.log()).not.toContain("[wsgi:error]");
      } finally {
        await server.stop();
      }
    });
  }
});

describe("SIGHUP without --processes", () => {
  test("a lone process logs that reload needs --processes and keeps serving", async () => {
    const server = await start({ args: ["--alias", `/p=${app}`] });
    try {
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog(/graceful reload needs --processes/);
      expect((await fetch(`${server.url}/p`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
