// --maximum-requests and --restart-interval replace a process with its successor up first (no failed
// request); --queue-timeout answers 503 to a request that waited too long for a thread.
import { describe, expect, test } from "bun:test";
import { fixture, start } from "./helpers/server.ts";

const app = fixture("pid.wsgi");

/** One request on a new connection: [status, pid]. */
async function hit(url: string): Promise<[number, number]> {
  const response = await fetch(url, { headers: { connection: "close" } });
  return [response.status, Number((await response.text()).split(" ")[0])];
}

describe("recycling", () => {
  test("--maximum-requests 5: the process is replaced, every request succeeds, the log says why", async () => {
    const server = await start({ args: ["--maximum-requests", "5", "--log-level", "info", "--alias", `/p=${app}`] });
    try {
      // Keep asking until the successor answers: it starts after the 5th request, slower on a busy machine.
      const pids = new Set<number>();
      const deadline = Date.now() + 15_000;
      while (pids.size < 2 && Date.now() < deadline) {
        const [status, pid] = await hit(`${server.url}/p`);
        expect(status).toBe(200);
        pids.add(pid);
        await Bun.sleep(30);
      }
      expect(pids.size).toBe(2);
      expect(pids.has(server.pid)).toBe(false); // served by children, not the supervisor
      expect(server.log()).toContain("reached its maximum-requests: replacing it");
    } finally {
      await server.stop();
    }
  });

  test("--restart-interval 1: a new process serves after the interval", async () => {
    const server = await start({ args: ["--restart-interval", "1", "--log-level", "info", "--alias", `/p=${app}`] });
    try {
      const [, first] = await hit(`${server.url}/p`);
      await server.waitForLog(/reached its restart-interval/, 5000);
      await server.waitForLog(/Process 0 \(pid \d+\) stopped/, 5000);
      const [status, second] = await hit(`${server.url}/p`);
      expect(status).toBe(200);
      expect(second).not.toBe(first);
    } finally {
      await server.stop();
    }
  });
});

describe("--queue-timeout", () => {
  test("a request that cannot get a thread within the timeout gets 503; the busy one completes", async () => {
    const server = await start({ args: ["--threads", "1", "--queue-timeout", "1", "--alias", `/p=${app}`] });
    try {
      const busy = fetch(`${server.url}/p?sleep2.5`).then((r) => r.status);
      await Bun.sleep(200);
      const started = Date.now();
      const queued = await fetch(`${server.url}/p`);
      const waited = Date.now() - started;
      expect(queued.status).toBe(503);
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(2000);
      expect(await busy).toBe(200);
      expect(server.log()).toContain("Queue timeout expired");
      expect((await fetch(`${server.url}/p`)).status).toBe(200); // and the thread serves again
    } finally {
      await server.stop();
    }
  });
});
