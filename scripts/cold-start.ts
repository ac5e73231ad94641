// Cold start: time from spawning a server command to its first 200 response, repeated N times.
// Generic on purpose (any command line, `{port}` replaced by a free port) so the benchmarks can time
// Apache the same way as wsgi-bin.
//
//   bun scripts/cold-start.ts [--runs N] [--path /URL] [--timeout MS] [-- COMMAND ARGS...]
//
// Default command: ./wsgi-bin --alias /hello=examples/hello.wsgi --port {port}, path /hello.
import { createServer } from "node:net";

export interface ColdStartOptions {
  /** The command line; every `{port}` in it becomes the port chosen for the run. */
  command: string[];
  /** The URL path polled on 127.0.0.1:{port}. */
  path: string;
  runs: number;
  /** Give up on a run after this long without a 200. */
  timeoutMs: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

export interface ColdStartResult {
  samplesMs: number[];
  medianMs: number;
  minMs: number;
}

export const DEFAULT_COMMAND = ["./wsgi-bin", "--alias", "/hello=examples/hello.wsgi", "--port", "{port}"];

/** A port free right now: bind to 0, read it, close (a new one per run, so TIME_WAIT never matters). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** One run: spawn, poll until a 200, stop the server. Returns milliseconds from spawn to the 200. */
export async function coldStartOnce(options: ColdStartOptions): Promise<number> {
  const port = await freePort();
  const argv = options.command.map((arg) => arg.replaceAll("{port}", String(port)));
  const url = `http://127.0.0.1:${port}${options.path}`;
  const start = performance.now();
  const child = Bun.spawn(argv, { cwd: options.cwd, env: options.env ?? process.env, stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(child.stderr).text(); // drained as it comes, shown if the run fails
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${argv.join(" ")} exited (${child.exitCode ?? child.signalCode}) before answering:\n${await stderr}`);
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
        await response.arrayBuffer();
        if (response.status === 200) return performance.now() - start;
      } catch {
        // Not listening yet (connection refused): poll again.
      }
      if (performance.now() - start > options.timeoutMs) throw new Error(`no 200 from ${url} within ${options.timeoutMs} ms`);
      await Bun.sleep(1);
    }
  } finally {
    await stop(child);
  }
}

// SIGTERM as an init system would, SIGKILL if it lingers: no run may leave a server behind.
async function stop(child: Bun.Subprocess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await child.exited;
  clearTimeout(timer);
}

export async function coldStart(options: ColdStartOptions): Promise<ColdStartResult> {
  const samplesMs: number[] = [];
  for (let i = 0; i < options.runs; i++) samplesMs.push(await coldStartOnce(options));
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { samplesMs, medianMs, minMs: sorted[0]! };
}

function parseCli(argv: string[]): ColdStartOptions {
  const options: ColdStartOptions = { command: DEFAULT_COMMAND, path: "/hello", runs: 10, timeoutMs: 30_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--") {
      options.command = argv.slice(i + 1);
      break;
    } else if (arg === "--runs") options.runs = positiveInt(arg, value());
    else if (arg === "--timeout") options.timeoutMs = positiveInt(arg, value());
    else if (arg === "--path") options.path = value();
    else throw new Error(`unknown option '${arg}'`);
  }
  if (options.command.length === 0) throw new Error("empty command after --");
  return options;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, not '${text}'`);
  return n;
}

if (import.meta.main) {
  let options: ColdStartOptions;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`cold-start: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const result = await coldStart(options);
  console.log(`command: ${options.command.join(" ")}`);
  console.log(`runs: ${result.samplesMs.length}  median: ${result.medianMs.toFixed(1)} ms  min: ${result.minMs.toFixed(1)} ms`);
  console.log(`samples: ${result.samplesMs.map((ms) => ms.toFixed(1)).join(" ")}`);
}
