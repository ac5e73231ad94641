// Measurement: process-tree RSS sampling, wrk runs and their parsing, the single curl download.
import { readdirSync, readFileSync } from "node:fs";

const PAGE_SIZE = 4096;

/** Every pid whose ancestry reaches `root` (root included), from one scan of /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Sum of resident set sizes (bytes) of the tree under `root`; shared pages count once per process. */
export function treeRss(root: number): number {
  let bytes = 0;
  for (const pid of processTree(root)) {
    try {
      bytes += Number(readFileSync(`/proc/${pid}/statm`, "latin1").split(" ")[1]) * PAGE_SIZE;
    } catch {
      // exited between the scan and the read
    }
  }
  return bytes;
}

/** Samples treeRss(root) every `intervalMs` until stopped; stop() returns the peak and the first sample. */
export function sampleRss(root: number, intervalMs = 100): { stop(): { peakBytes: number; startBytes: number; samples: number } } {
  const startBytes = treeRss(root);
  let peakBytes = startBytes;
  let samples = 1;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, treeRss(root));
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peakBytes = Math.max(peakBytes, treeRss(root));
      return { peakBytes, startBytes, samples: samples + 1 };
    },
  };
}

export interface WrkResult {
  command: string;
  rps: number;
  p99Ms: number;
  /** Response bytes per second as wrk counts them (headers included). */
  transferBytesPerSec: number;
  requests: number;
  /** connect/read/write/timeout socket errors + non-2xx responses (+ wrong bodies for the upload script). */
  errors: number;
  errorDetail: string;
}

const UNITS: Record<string, number> = { "": 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** wrk's "1.23ms" / "850.00us" / "2.01s" / "1.00m" -> milliseconds. */
export function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) return NaN;
  const value = Number(match[1]);
  return value * { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "us"];
}

export function parseWrk(out: string, command: string): WrkResult {
  const number = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const transfer = /^Transfer\/sec:\s+([\d.]+)(\w*)/m.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/) || 0;
  const badBodies = number(/^BAD_BODIES (\d+)/m) || 0;
  const [connect, read, write, timeout] = socket ? socket.slice(1).map(Number) : [0, 0, 0, 0];
  const detail: string[] = [];
  if (socket) detail.push(`socket errors: connect ${connect}, read ${read}, write ${write}, timeout ${timeout}`);
  if (non2xx) detail.push(`non-2xx: ${non2xx}`);
  if (badBodies) detail.push(`wrong status or body: ${badBodies}`);
  return {
    command,
    rps: number(/^Requests\/sec:\s+([\d.]+)/m),
    p99Ms: durationMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ""),
    transferBytesPerSec: transfer ? Number(transfer[1]) * (UNITS[transfer[2]!] ?? NaN) : NaN,
    requests: number(/(\d+) requests in /),
    // The upload script's wrong bodies include its non-2xx responses: count the larger of the two.
    errors: connect! + read! + write! + timeout! + Math.max(non2xx, badBodies),
    errorDetail: detail.join("; "),
  };
}

const clients = new Set<Bun.Subprocess>();

/** Runs a command to its end, output captured. Interrupted runs are ended by killClients(). */
export async function run(argv: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  clients.add(child);
  const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    clients.delete(child);
  }
}

/** Stops every wrk/curl/helper still running (on Ctrl-C or SIGTERM). */
export function killClients(): void {
  for (const child of clients) child.kill("SIGKILL");
}

export interface WrkLoad {
  threads: number;
  connections: number;
  duration: string;
  script?: string;
  scriptArgs?: string[];
}

export function wrkArgv(url: string, load: WrkLoad): string[] {
  const argv = ["wrk", `-t${load.threads}`, `-c${load.connections}`, `-d${load.duration}`, "--latency"];
  if (load.script) argv.push("-s", load.script);
  argv.push(url);
  if (load.scriptArgs) argv.push("--", ...load.scriptArgs);
  return argv;
}

export async function wrk(url: string, load: WrkLoad): Promise<WrkResult> {
  const argv = wrkArgv(url, load);
  const { code, stdout, stderr } = await run(argv, { timeoutMs: 10 * 60_000 });
  if (code !== 0 || !/Requests\/sec/.test(stdout)) throw new Error(`${argv.join(" ")} failed (${code}):\n${stdout}${stderr}`);
  return parseWrk(stdout, argv.join(" "));
}

export interface DownloadResult {
  command: string;
  status: number;
  bytes: number;
  seconds: number;
  bytesPerSec: number;
}

/** One POST of a file with curl (streamed from the file, with its Content-Length); the answer is the app's count. */
export async function upload(url: string, file: string): Promise<DownloadResult & { answer: string }> {
  const argv = ["curl", "-sS", "-X", "POST", "-T", file, "-H", "Content-Type: application/octet-stream", "--max-time", "600",
    "-w", "\n%{http_code} %{size_upload} %{time_total}", url];
  const { code, stdout, stderr } = await run(argv);
  const lines = stdout.trimEnd().split("\n");
  const [status, bytes, seconds] = lines.pop()!.split(" ").map(Number) as [number, number, number];
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (curl exit ${code}): ${stderr.trim()} after ${bytes} bytes`);
  return { command: argv.join(" "), status, bytes, seconds, bytesPerSec: bytes / seconds, answer: lines.join("\n") };
}

/** One GET with curl into /dev/null. */
export async function download(url: string): Promise<DownloadResult> {
  const argv = ["curl", "-sS", "-o", "/dev/null", "--max-time", "600", "-w", "%{http_code} %{size_download} %{time_total}", url];
  const { code, stdout, stderr } = await run(argv);
  const [status, bytes, seconds] = stdout.trim().split(" ").map(Number) as [number, number, number];
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (curl exit ${code}): ${stderr.trim()} after ${bytes} bytes`);
  return { command: argv.join(" "), status, bytes, seconds, bytesPerSec: bytes / seconds };
}
