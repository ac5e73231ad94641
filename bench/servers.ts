// Running servers: start one in its own process group, wait until it answers, check its answer, and
// stop it (and everything it started) whatever happens. Every process started here or by cold starts
// carries WSGI_BIN_BENCH=<scratch dir> in its environment, so strays (a child its parent left behind)
// are found by that mark and nothing else.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../scripts/cold-start.ts";
import type { Peer, PeerCommand } from "./peers.ts";
import { verify, type Check } from "./scenarios.ts";

export const MARK = "WSGI_BIN_BENCH";

export interface Server {
  peer: string;
  pid: number;
  url: string;
  child: Bun.Subprocess;
  log: string;
  errorLog?: string;
}

const running = new Set<Server>();

/** The command's environment plus the mark naming this run's scratch dir. */
export function markedEnv(command: PeerCommand, tmp: string): Record<string, string | undefined> {
  return { ...(command.env ?? process.env), [MARK]: tmp };
}

export async function startServer(peer: Peer, command: PeerCommand, tmp: string, cwd: string): Promise<Server> {
  const port = await freePort();
  const argv = command.argv.map((a) => a.replaceAll("{port}", String(port)));
  const log = join(tmp, `${peer.name}-${port}.log`);
  const child = Bun.spawn(argv, {
    cwd: command.cwd ?? cwd,
    env: markedEnv(command, tmp),
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: Bun.file(log),
    detached: true, // its own process group: stopServer can kill whatever it left
  });
  const server: Server = { peer: peer.name, pid: child.pid, url: `http://127.0.0.1:${port}`, child, log, errorLog: command.errorLog };
  running.add(server);
  return server;
}

/** SIGTERM as an init system would, SIGKILL after 10 s, then SIGKILL to anything left in its group. */
export async function stopServer(server: Server): Promise<void> {
  running.delete(server);
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await child.exited;
    clearTimeout(timer);
  }
  try {
    process.kill(-server.pid, "SIGKILL");
  } catch {
    // nothing left in the group: the usual case
  }
}

/**
 * SIGKILL every process marked with this run's scratch dir. Needed after cold starts: Apache's children,
 * stopped ~100 ms after they started, can hang in a futex with SIGTERM blocked after their parent exits.
 */
export function killStrays(tmp: string): number[] {
  const mark = `${MARK}=${tmp}\0`;
  const killed: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").includes(mark)) continue;
      process.kill(Number(entry), "SIGKILL");
      killed.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return killed;
}

export async function stopAll(tmp: string): Promise<void> {
  await Promise.all([...running].map(stopServer));
  if (tmp) killStrays(tmp);
}

/** The server's own output and error log, last lines, for failure reports. */
export function serverLogs(server: Server): string {
  const tail = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-15).join("\n") : "");
  return [tail(server.log), server.errorLog ? tail(server.errorLog) : ""].filter(Boolean).join("\n");
}

/** "PEER exited (CODE)" once it has, else undefined. */
export function exited(server: Server): string | undefined {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return `${server.peer} exited (${child.exitCode ?? child.signalCode})`;
}

export async function waitReady(server: Server, path: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    const dead = exited(server);
    if (dead) throw new Error(`${dead} before answering 200 on ${path}`);
    try {
      const response = await fetch(server.url + path, { signal: AbortSignal.timeout(5000) });
      await response.body?.cancel();
      if (response.status === 200) return;
      last = `last answer ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await Bun.sleep(50);
  }
  throw new Error(`no 200 on ${path} within ${timeoutMs} ms (${last})`);
}

/** One request checked against the scenario's expectation before any load. */
export async function checkAnswer(server: Server, check: Check): Promise<void> {
  const response = await fetch(server.url + check.path, {
    method: check.method ?? "GET",
    body: check.body,
    signal: AbortSignal.timeout(60_000),
  });
  verify(check, response.status, new Uint8Array(await response.arrayBuffer()));
}
