// WSGIDaemonProcess deadlock-timeout= and listen-backlog= (and --daemon-process's), acted on by the
// group's own processes: a daemon process whose GIL a C call keeps past deadlock-timeout= is replaced
// by the supervisor as the front's --deadlock-timeout replaces a front process; listen-backlog= is
// the requests that may wait for a thread in each daemon process, one more answered 503 at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, APACHE_LOG_LINE, cleanupTemps, fixture, freePort, rawRequest, run, start, tempDir, type RunningServer } from "./helpers/server.ts";

afterAll(cleanupTemps);

const DEBIAN = "/usr/bin/python3";
const stuck = fixture("stuck.wsgi");
const pidApp = fixture("pid.wsgi");

/** The pid of the daemon process answering `url` (stuck.wsgi answers "PID", pid.wsgi "PID MULTIPROCESS"). */
async function daemonPid(url: string): Promise<number> {
  const response = await fetch(url, { headers: { connection: "close" }, signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return Number((await response.text()).split(" ")[0]);
}

/** One request on its own connection (raw: fetch caps its own concurrency); [status, ms until answered]. */
async function timedRequest(port: number, path: string): Promise<[number, number]> {
  const started = performance.now();
  const reply = (await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`)).toString("latin1");
  return [Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0), performance.now() - started];
}

/**
 * A group with threads=1,listen-backlog=1 behind `prefix`: one request runs, one waits in the daemon
 * process, a third is answered 503 at once (with the daemon's log line naming listen-backlog=); the
 * two others are served.
 */
async function backlogOfOne(server: RunningServer, prefix: string): Promise<void> {
  const pid = await daemonPid(`${server.url}${prefix}`); // the script loaded
  const from = server.log().length;
  const running = timedRequest(server.port, `${prefix}?sleep2`);
  await Bun.sleep(400);
  const waiting = timedRequest(server.port, prefix);
  await Bun.sleep(400);
  const [status, ms] = await timedRequest(server.port, prefix);
  expect(status).toBe(503);
  expect(ms).toBeLessThan(1000); // answered, not queued behind the 2 s request
  const [[first], [second, secondMs]] = await Promise.all([running, waiting]);
  expect(first).toBe(200);
  expect(second).toBe(200);
  expect(secondMs).toBeGreaterThan(1000); // it did wait for the thread
  const lines = server.log().slice(from).split("\n").filter((line) => line.includes("Request queue full"));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(APACHE_LOG_LINE);
  expect(lines[0]).toContain(`[pid ${pid}:`); // the daemon process refused it
  expect(lines[0]).toContain(`Request queue full for WSGI request to '${pidApp}': 1 requests already wait for a thread (listen-backlog=).`);
  expect(await daemonPid(`${server.url}${prefix}`)).toBe(pid); // and it serves on
}

describe("--daemon-process ...,deadlock-timeout=2 and ...,listen-backlog=1", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      python: DEBIAN,
      args: [
        "--log-level", "info",
        // The front's own settings: a daemon group has its own (listen-backlog=, deadlock-timeout=).
        "--queue-limit", "0",
        "--daemon-process", "dl,threads=2,deadlock-timeout=2,graceful-timeout=1",
        "--daemon-process", "q,threads=1,listen-backlog=1",
        "--alias", `/dl=${stuck},process-group=dl`,
        "--alias", `/q=${pidApp},process-group=q`,
      ],
    });
    await server.waitForLog(/group 'dl' \(pid \d+\) ready/, 20_000);
    await server.waitForLog(/group 'q' \(pid \d+\) ready/, 20_000);
  }, 60_000);
  afterAll(() => server?.stop());

  test("a C call keeping the GIL: the daemon process is replaced within seconds, the log says why, the group serves again", async () => {
    // Kept alive, so that the front keeps its connection to the daemon for the next request (pooled).
    const old = Number((await (await fetch(`${server.url}/dl/`, { signal: AbortSignal.timeout(10_000) })).text()).split(" ")[0]);
    const mark = server.log().length;
    const started = performance.now();
    const held = fetch(`${server.url}/dl/gil`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.status, () => "cut");
    const log = await server.waitForLog(new RegExp(`Daemon process 0 of group 'dl' \\(pid ${old}\\) detected a Python GIL deadlock \\(deadlock-timeout\\): replacing it\\.`), 10_000, mark);
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(seconds).toBeLessThan(6); // long before the 30 s C call returns
    const line = log.split("\n").find((l) => l.includes("deadlock detected"))!;
    expect(line).toMatch(APACHE_LOG_LINE);
    expect(line).toContain(`[wsgi:error] [pid ${old}:`);
    expect(line).toMatch(/Python GIL deadlock detected: the GIL has been out of reach for over 2 s \(deadlock-timeout=; last taken [\d.]+ s ago\)/);
    expect(line).toContain(`replacing process ${old}.`);
    await server.waitForLog(new RegExp(`Started daemon process 0 of group 'dl' \\(pid \\d+\\): successor of pid ${old} \\(deadlock-timeout\\)\\.`), 10_000, mark);
    await server.waitForLog(new RegExp(`group 'dl' \\(pid ${old}\\) stopped \\(exit code 0\\): replaced by pid \\d+ \\(deadlock-timeout\\)`), 15_000, mark);
    expect(alive(old)).toBe(false);
    // The request the C call held dies with its process: the front answers it 500 (mod_wsgi's "truncated" response).
    expect(await held).toBe(500);
    // It is not sent again to the successor (it reached its process on a pooled connection, as a GET):
    // that would keep the successor's GIL too, and replace it as well.
    expect(server.log().slice(mark).match(/detected a Python GIL deadlock/g)).toHaveLength(1);
    const successor = await daemonPid(`${server.url}/dl/`);
    expect(successor).not.toBe(old);
    await Bun.sleep(2500); // past deadlock-timeout=2: a resent request would have replaced it by now
    expect(await daemonPid(`${server.url}/dl/`)).toBe(successor);
    expect(server.log().slice(mark).match(/detected a Python GIL deadlock/g)).toHaveLength(1);
    expect(server.log().slice(mark)).not.toMatch(/Started process|group 'q' \(pid/); // the front and the other group go on
  }, 40_000);

  test("threads=1,listen-backlog=1: one request runs, one waits, a third gets 503 at once (the front's --queue-limit 0 is its own)", async () => {
    await backlogOfOne(server, "/q");
  }, 30_000);
});

/** A site file with WSGIDaemonProcess groups; the helper moves its Listen to a free port. */
async function siteWith(lines: string[]): Promise<string> {
  const conf = join(tempDir("wsgi-bin-daemon-options-"), "site.conf");
  writeFileSync(conf, [`Listen ${await freePort()}`, ...lines, ""].join("\n"));
  return conf;
}

describe("WSGIDaemonProcess ... deadlock-timeout=0, one without it, and ... listen-backlog=1 (--config)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    const conf = await siteWith([
      "WSGIDaemonProcess off threads=2 deadlock-timeout=0 graceful-timeout=1",
      "WSGIDaemonProcess unset threads=2 graceful-timeout=1",
      "WSGIDaemonProcess q threads=1 listen-backlog=1",
      `WSGIScriptAlias /off ${stuck} process-group=off`,
      `WSGIScriptAlias /unset ${stuck} process-group=unset`,
      `WSGIScriptAlias /q ${pidApp} process-group=q`,
    ]);
    // The front's --deadlock-timeout 2 is the front's own: the groups keep theirs.
    server = await start({ python: DEBIAN, args: ["--config", conf, "--log-level", "info", "--deadlock-timeout", "2"] });
    await server.waitForLog(/group 'off' \(pid \d+\) ready/, 20_000);
    await server.waitForLog(/group 'unset' \(pid \d+\) ready/, 20_000);
    await server.waitForLog(/group 'q' \(pid \d+\) ready/, 20_000);
  }, 60_000);
  afterAll(() => server?.stop());

  test("no warning: both options are acted on", () => {
    expect(server.stderr()).not.toContain("not implemented");
  });

  test("threads=1 listen-backlog=1: one request runs, one waits, a third gets 503 at once", async () => {
    await backlogOfOne(server, "/q");
  }, 30_000);

  // Last: the C calls keep those processes' GIL for 30 s (they exit with the server, after graceful-timeout=1).
  test("deadlock-timeout=0, and no deadlock-timeout= (off by default, whatever --deadlock-timeout says): a C call keeping the GIL past 2 s does not get the process replaced", async () => {
    const pids = [await daemonPid(`${server.url}/off/`), await daemonPid(`${server.url}/unset/`)];
    const mark = server.log().length;
    const held = new AbortController();
    const holding = ["/off/gil", "/unset/gil"].map((path) => fetch(`${server.url}${path}`, { signal: held.signal }).catch(() => null));
    await Bun.sleep(4500); // past 2 s and its 0.25 s tick, when the deadlock-timeout=2 group above was replaced
    expect(server.log().slice(mark)).not.toContain("deadlock");
    expect(server.log().slice(mark)).not.toMatch(/Started daemon process/);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    held.abort();
    await Promise.all(holding);
  }, 30_000);
});

describe("both ways of writing a group give the same settings; the defaults", () => {
  test("--check-config shows deadlock-timeout= and listen-backlog= alike from --daemon-process and WSGIDaemonProcess", async () => {
    const flags = await run(["--python", DEBIAN, "--daemon-process", "g,threads=3,deadlock-timeout=7,listen-backlog=9",
      "--alias", `/g=${pidApp},process-group=g`, "--check-config"]);
    const conf = await siteWith(["WSGIDaemonProcess g threads=3 deadlock-timeout=7 listen-backlog=9", `WSGIScriptAlias /g ${pidApp} process-group=g`]);
    const file = await run(["--python", DEBIAN, "--config", conf, "--check-config"]);
    for (const r of [flags, file]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("  g: processes=1 threads=3 graceful-timeout=30 deadlock-timeout=7 listen-backlog=9");
      expect(r.stdout).toContain("daemon group g: 1 process, 3 threads, listen-backlog=9, deadlock-timeout=7.");
    }
  });

  test("a group that does not say: listen-backlog=100 (mod_wsgi's) and deadlock-timeout off, whatever the front's flags", async () => {
    const r = await run(["--python", DEBIAN, "--queue-limit", "5", "--deadlock-timeout", "9", "--daemon-process", "g",
      "--alias", `/g=${pidApp},process-group=g`, "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("daemon group g: 1 process, 15 threads, listen-backlog=100, deadlock-timeout=0 (off).");
  });

  test("a value that is not a whole number in range: a usage error (flag), a configuration error with its line (file)", async () => {
    for (const [option, value] of [["deadlock-timeout", "1.5"], ["deadlock-timeout", "86401"], ["listen-backlog", "-1"], ["listen-backlog", "many"]]) {
      const flag = await run(["--daemon-process", `g,${option}=${value}`, "--alias", `/g=${pidApp},process-group=g`]);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toContain(`--daemon-process g ${option}= wants a whole number from 0 to`);
      const conf = await siteWith([`WSGIDaemonProcess g ${option}=${value}`, `WSGIScriptAlias /g ${pidApp} process-group=g`]);
      const file = await run(["--config", conf, "--check-config"]);
      expect(file.code).toBe(1);
      expect(file.stderr).toMatch(new RegExp(`site\\.conf:2: WSGIDaemonProcess g ${option}= wants a whole number from 0 to \\d+, got '${value}'`));
    }
  });
});
