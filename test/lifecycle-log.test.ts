// Issue #4 item 8: every process start and stop, and why, is in the error log in Apache's format with
// pids: the supervisor's own, each child's start (at start-up, replacing a dead one, a successor),
// readiness, stop with its reason (replaced by which pid and why, supervisor stopping), a child's
// death, a child killed for outliving --graceful-timeout, and a process that cannot start at all.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { APACHE_LOG_LINE, cleanupTemps, fixture, run, start, tempDir, type RunningServer } from "./helpers/server.ts";

afterAll(() => cleanupTemps());

const app = fixture("pid.wsgi");
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The pid of the process a line came from. */
function linePid(line: string): number {
  return Number(/\[pid (\d+):tid \d+\]/.exec(line)?.[1]);
}

/** The pid the supervisor logged as started in `slot` for `why`, from `from` on in the log. */
async function started(server: RunningServer, slot: number, why: string, from: number): Promise<number> {
  const pattern = new RegExp(`Started process ${slot} \\(pid (\\d+)\\): ${escape(why)}\\.`);
  const log = await server.waitForLog(pattern, 10_000, from);
  return Number(pattern.exec(log)![1]);
}

describe("process lifecycle in the error log", () => {
  test("start-up, a death, a SIGHUP reload and a SIGTERM stop: each logged, with pids and reasons", async () => {
    const dir = tempDir();
    const logFile = join(dir, "error.log");
    const server = await start({ args: ["--processes", "2", "--log-level", "info", "--error-log", logFile, "--alias", `/p=${app}`] });
    try {
      const supervisor = server.pid;
      expect(await server.waitForLog(/Supervisor \(pid \d+\) starting 2 processes on port \d+\./)).toContain(`Supervisor (pid ${supervisor}) starting`);
      const first = [await started(server, 0, "at start-up", 0), await started(server, 1, "at start-up", 0)];
      for (const [slot, pid] of first.entries()) await server.waitForLog(new RegExp(`Process ${slot} \\(pid ${pid}\\) ready\\.`), 10_000);
      await server.waitForLog(/listening on[\s\S]*listening on/, 10_000);

      // A death: logged with its cause; the replacement says whom it replaces.
      let mark = server.log().length;
      process.kill(first[0]!, "SIGKILL");
      await server.waitForLog(new RegExp(`Process 0 \\(pid ${first[0]}\\) died with signal SIGKILL after [\\d.]+ s; restarting`), 10_000, mark);
      const replacement = await started(server, 0, `replacing pid ${first[0]}, which died`, mark);
      await server.waitForLog(new RegExp(`Process 0 \\(pid ${replacement}\\) ready\\.`), 10_000, mark);

      // A reload: successors named with their predecessor; the old ones stop, saying by whom they were replaced.
      mark = server.log().length;
      process.kill(supervisor, "SIGHUP");
      const reloaded: number[] = [];
      for (const [slot, old] of [replacement, first[1]!].entries()) {
        const successor = await started(server, slot, `successor of pid ${old} (SIGHUP reload)`, mark);
        reloaded.push(successor);
        await server.waitForLog(new RegExp(
          `Process ${slot} \\(pid ${old}\\) stopped \\(exit code 0\\): replaced by pid ${successor} \\(SIGHUP reload\\)\\.`), 15_000, mark);
        await server.waitForLog(new RegExp(`\\[pid ${old}:tid \\d+\\] Process ${old} exiting after SIGTERM\\.`), 5000, mark);
      }

      // The stop: the supervisor's reason, each child's own exit, then the supervisor's.
      mark = server.log().length;
      expect(await server.stop()).toBe(0);
      const tail = server.log().slice(mark);
      expect(tail).toContain(`[pid ${supervisor}:`);
      expect(tail).toContain("Caught SIGTERM, stopping 2 processes gracefully.");
      for (const [slot, pid] of reloaded.entries()) {
        expect(tail).toMatch(new RegExp(`Process ${slot} \\(pid ${pid}\\) stopped \\(exit code 0\\): supervisor stopping \\(SIGTERM\\)\\.`));
        expect(tail).toMatch(new RegExp(`\\[pid ${pid}:tid \\d+\\] Caught SIGTERM, shutting down gracefully`));
        expect(tail).toMatch(new RegExp(`\\[pid ${pid}:tid \\d+\\] Process ${pid} exiting after SIGTERM\\.`));
      }
      expect(tail).toContain(`All processes stopped, supervisor (pid ${supervisor}) exiting.`);

      // Every line in Apache's format, and every process that lived wrote lines of its own.
      const lines = readFileSync(logFile, "utf8").split("\n").filter(Boolean);
      expect(lines.filter((line) => !APACHE_LOG_LINE.test(line))).toEqual([]);
      const writers = new Set(lines.map(linePid));
      for (const pid of [supervisor, ...first, replacement, ...reloaded]) expect(writers.has(pid)).toBe(true);
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("--maximum-requests: the old process's stop names its successor and the reason", async () => {
    const server = await start({ args: ["--maximum-requests", "3", "--log-level", "info", "--alias", `/p=${app}`] });
    try {
      const old = Number((await (await fetch(`${server.url}/p`)).text()).split(" ")[0]);
      for (let i = 0; i < 2; i++) await fetch(`${server.url}/p`).then((r) => r.text());
      await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) reached its maximum-requests: replacing it\\.`), 10_000);
      const successor = await started(server, 0, `successor of pid ${old} (maximum-requests)`, 0);
      await server.waitForLog(new RegExp(`Process 0 \\(pid ${old}\\) stopped \\(exit code 0\\): replaced by pid ${successor} \\(maximum-requests\\)\\.`), 15_000);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("a child that outlives --graceful-timeout after SIGTERM is killed, and that is logged", async () => {
    const server = await start({ args: ["--processes", "1", "--maximum-requests", "1000", "--graceful-timeout", "1", "--log-level", "info", "--alias", `/p=${app}`] });
    try {
      const old = Number((await (await fetch(`${server.url}/p`)).text()).split(" ")[0]);
      process.kill(old, "SIGSTOP"); // it cannot act on the SIGTERM to come, as a process hung in exit would not
      const mark = server.log().length;
      process.kill(server.pid, "SIGHUP");
      const successor = await started(server, 0, `successor of pid ${old} (SIGHUP reload)`, mark);
      await server.waitForLog(new RegExp(
        `Process 0 \\(pid ${old}\\) still running 1 s \\(--graceful-timeout\\) and 5 s after SIGTERM: killing it \\(SIGKILL\\)\\.`), 15_000, mark);
      await server.waitForLog(new RegExp(
        `Process 0 \\(pid ${old}\\) stopped \\(signal SIGKILL\\): replaced by pid ${successor} \\(SIGHUP reload\\)\\.`), 5000, mark);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("a process that cannot start logs why, with its pid, in the error log as well as on stderr", async () => {
    const logFile = join(tempDir(), "error.log");
    const result = await run(["--error-log", logFile, "--python", "/nonexistent/python3", app]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("wsgi-bin: ");
    const lines = readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => !APACHE_LOG_LINE.test(line))).toEqual([]);
    // The first emerg line (a warning about running as root may come before it).
    expect(lines.find((line) => line.includes("[wsgi:emerg]"))).toMatch(/\[wsgi:emerg\] \[pid (\d+):tid \d+\] wsgi-bin \(pid \1\) could not start: /);
    expect(lines.join("\n")).toContain("/nonexistent/python3");
  });
});
