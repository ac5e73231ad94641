// Test harness: runs the real wsgi-bin (from source, or a built executable) as a child process on a
// free port, waits for its "listening on" line, and stops it again. Every server started here is also
// killed when the test process exits, so a failing test never leaves one behind.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
export const MAIN = join(ROOT, "src/main.ts");
export const FIXTURES = join(ROOT, "test/fixtures");
/** The bun running the tests also runs the server. */
export const BUN = process.execPath;

export const fixture = (name: string) => join(FIXTURES, name);

export interface StartOptions {
  /** wsgi-bin arguments; `--port 0` is added unless a --port is given. */
  args: string[];
  /** Adds `--python PATH`. */
  python?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** The command to run instead of `bun src/main.ts` (e.g. a built executable). */
  command?: string[];
  /** How long to wait for the listening line (ms). */
  timeoutMs?: number;
  /** The server's stdin: /dev/null unless "pipe" (one the test never writes to nor closes). */
  stdin?: "ignore" | "pipe";
}

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  proc: Subprocess;
  /** stderr so far (the error log unless --error-log is given). */
  stderr(): string;
  stdout(): string;
  /** The error log so far: the --error-log file when given, else stderr. */
  log(): string;
  /** Waits until the error log (from character `from` on) matches `pattern`; returns that part of the log. */
  waitForLog(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  stop(): Promise<number | null>;
}

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const proc of live) {
    try {
      proc.kill("SIGKILL");
    } catch {}
  }
});

function collect(stream: ReadableStream<Uint8Array> | undefined | null, into: { text: string }): Promise<void> {
  if (!stream) return Promise.resolve();
  const decoder = new TextDecoder();
  return (async () => {
    for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
}

function optionValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i]!.startsWith(name + "=")) return args[i]!.slice(name.length + 1);
  }
  return undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once("error", () => resolvePromise(false));
  });
}

/** A port that was free a moment ago (for tests that cannot use --port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const listener = createServer();
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => {
      const port = (listener.address() as { port: number }).port;
      listener.close(() => resolvePromise(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Is process `pid` still there? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function start(options: StartOptions): Promise<RunningServer> {
  const args = [...options.args];
  if (options.python) args.push("--python", options.python);
  if (optionValue(args, "--port") === undefined) args.push("--port", "0");
  const cwd = options.cwd ?? ROOT;
  const errorLogOption = optionValue(args, "--error-log");
  const errorLogFile = errorLogOption ? resolve(cwd, errorLogOption) : undefined;
  const command = [...(options.command ?? [BUN, MAIN]), ...args];
  const proc = Bun.spawn(command, {
    cwd,
    env: { ...process.env, ...options.env } as Record<string, string>,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  const err = { text: "" };
  const out = { text: "" };
  const pumps = [collect(proc.stderr as ReadableStream<Uint8Array>, err), collect(proc.stdout as ReadableStream<Uint8Array>, out)];
  const log = () => (errorLogFile ? (existsSync(errorLogFile) ? readFileSync(errorLogFile, "utf8") : "") : err.text);

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  // A fixed --port can be probed (the listening line is a notice: --log-level warn hides it).
  const fixedPort = Number(optionValue(args, "--port"));
  let port = 0;
  for (;;) {
    const match = /listening on http:\/\/[^\s/]+:(\d+)\//.exec(log());
    if (match) {
      port = Number(match[1]);
      break;
    }
    if (fixedPort && (await canConnect(fixedPort))) {
      port = fixedPort;
      break;
    }
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      const reason = proc.exitCode !== null || proc.signalCode !== null ? `exited (${proc.exitCode ?? proc.signalCode})` : "timed out";
      proc.kill("SIGKILL");
      await proc.exited;
      live.delete(proc);
      await Promise.all(pumps);
      throw new Error(`wsgi-bin ${args.join(" ")} ${reason} before listening.\nstderr:\n${err.text}\nlog:\n${log()}`);
    }
    await sleep(20);
  }

  let stopped: Promise<number | null> | null = null;
  const server: RunningServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    proc,
    stderr: () => err.text,
    stdout: () => out.text,
    log,
    async waitForLog(pattern, timeoutMs = 5000, from = 0) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const text = log().slice(from);
        if (pattern.test(text)) return text;
        if (Date.now() > end) throw new Error(`error log never matched ${pattern}:\n${text}`);
        await sleep(20);
      }
    },
    stop() {
      stopped ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        const code = await proc.exited;
        clearTimeout(timer);
        live.delete(proc);
        await Promise.all(pumps);
        return code;
      })();
      return stopped;
    },
  };
  return server;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs wsgi-bin to completion (for flags that exit): kills it after timeoutMs. */
export async function run(args: string[], options: { command?: string[]; cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<RunResult> {
  const proc = Bun.spawn([...(options.command ?? [BUN, MAIN]), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env } as Record<string, string>,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  live.delete(proc);
  return { code, stdout, stderr };
}

/** A fresh temporary directory; `cleanup()` removes every directory made so far. */
const temps: string[] = [];
export function tempDir(prefix = "wsgi-bin-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function cleanupTemps(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function get(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

export async function getJson(url: string, init?: RequestInit): Promise<any> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Sends raw bytes on a new connection and returns everything received until the server closes it. */
export function rawRequest(port: number, request: string | Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      resolvePromise(Buffer.concat(chunks)); // what arrived so far; the caller asserts on it
    }, timeoutMs);
    socket.on("data", (chunk) => chunks.push(Buffer.from(chunk)));
    socket.on("end", () => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(Buffer.concat(chunks));
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolvePromise(Buffer.concat(chunks));
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Apache's error log line: `[Mon Nov 23 20:38:53.123456 2026] [wsgi:level] [pid N:tid N] message`. */
export const APACHE_LOG_LINE =
  /^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{2}:\d{2}:\d{2}\.\d{6} \d{4}\] \[wsgi:(emerg|alert|crit|error|warn|notice|info|debug)\] \[pid \d+:tid \d+\] .*$/;
