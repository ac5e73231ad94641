// --queue-limit (ListenBacklog): requests waiting for a free thread are capped per process; past the
// cap a request is answered 503 at once, with an error log line, instead of joining the queue.
import { describe, expect, test } from "bun:test";
import { APACHE_LOG_LINE, fixture, rawRequest, run, start, type RunningServer } from "./helpers/server.ts";

const app = fixture("pid.wsgi");

/** One request on its own connection (raw: fetch caps its own concurrency); [status, ms until answered]. */
async function timedRequest(port: number, path: string): Promise<[number, number]> {
  const started = performance.now();
  const reply = (await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`)).toString("latin1");
  return [Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0), performance.now() - started];
}

/** Occupies the one thread of a --threads 1 server for `seconds`; `done` resolves with that request's status. */
async function occupy(server: RunningServer, seconds: number): Promise<{ done: Promise<number> }> {
  const done = timedRequest(server.port, `/p?sleep${seconds}`).then(([status]) => status);
  await Bun.sleep(300);
  return { done }; // wrapped: an async function returning a promise would wait for it
}

describe("--queue-limit", () => {
  test("--threads 1 --queue-limit 2: two requests wait and are served, the rest get 503 at once", async () => {
    const server = await start({ args: ["--threads", "1", "--queue-limit", "2", "--alias", `/p=${app}`] });
    try {
      await fetch(`${server.url}/p`); // the script loaded
      const { done: busy } = await occupy(server, 2.5);
      const queued = [timedRequest(server.port, "/p"), timedRequest(server.port, "/p")];
      await Bun.sleep(200);
      const refused = await Promise.all(Array.from({ length: 10 }, () => timedRequest(server.port, "/p")));
      for (const [status, ms] of refused) {
        expect(status).toBe(503);
        expect(ms).toBeLessThan(1000); // answered, not queued behind the 2.5 s request
      }
      expect(await busy).toBe(200);
      for (const [status] of await Promise.all(queued)) expect(status).toBe(200);
      const lines = server.log().split("\n").filter((line) => line.includes("Request queue full"));
      expect(lines.length).toBe(10);
      expect(lines[0]).toMatch(APACHE_LOG_LINE);
      expect(lines[0]).toContain(`[wsgi:error]`);
      expect(lines[0]).toContain(`Request queue full for WSGI request to '${app}': 2 requests already wait for a thread (--queue-limit).`);
      expect((await fetch(`${server.url}/p`)).status).toBe(200); // and it serves normally after
    } finally {
      await server.stop();
    }
  });

  test("--queue-limit 0: no request waits; one arriving while every thread is busy gets 503", async () => {
    const server = await start({ args: ["--threads", "1", "--queue-limit", "0", "--alias", `/p=${app}`] });
    try {
      await fetch(`${server.url}/p`);
      const { done: busy } = await occupy(server, 1.5);
      expect((await timedRequest(server.port, "/p"))[0]).toBe(503);
      expect(await busy).toBe(200);
      expect((await timedRequest(server.port, "/p"))[0]).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("the default is 511 (ListenBacklog): with one thread busy, 511 of 520 more wait and 9 are refused", async () => {
    const server = await start({ args: ["--threads", "1", "--alias", `/p=${app}`] });
    try {
      await fetch(`${server.url}/p`);
      const { done: busy } = await occupy(server, 4);
      const results = await Promise.all(Array.from({ length: 520 }, () => timedRequest(server.port, "/p")));
      expect(await busy).toBe(200);
      const statuses = results.map(([status]) => status);
      expect(statuses.filter((s) => s === 200).length).toBe(511);
      expect(statuses.filter((s) => s === 503).length).toBe(9);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("--help documents it; a value that is not a whole number is a usage error", async () => {
    expect((await run(["--help"])).stdout).toContain("--queue-limit N");
    for (const value of ["-1", "many", "1000001"]) {
      const r = await run(["--queue-limit", value, app]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--queue-limit");
    }
  });
});
