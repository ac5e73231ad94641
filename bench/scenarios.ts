// The scenarios: which app each one serves, the load it runs, and the check that each server answers
// correctly before it is loaded.
import type { WrkLoad } from "./measure.ts";

export const UPLOAD_BYTES = 10 * 1024 * 1024;
export const STREAM_BYTES = 1024 * 1024 * 1024;

export interface Check {
  method?: "GET" | "POST";
  path: string;
  body?: Uint8Array<ArrayBuffer>;
  /** The body expected (exact text), or its length. */
  expect: string | { length: number } | { contains: string };
}

interface BaseScenario {
  name: string;
  /** File in bench/apps/. */
  app: string;
  description: string;
  /** Path polled until the server answers 200 (cheap for every app). */
  readyPath: string;
  check: Check;
}

export interface LoadScenario extends BaseScenario {
  kind: "wrk";
  load(duration: string): WrkLoad;
  /** Bytes per request that count as throughput instead of wrk's response bytes (upload). */
  requestBytes?: number;
}

export interface StreamScenario extends BaseScenario {
  kind: "stream";
  bytes: number;
  /** download (default): one GET of the body; upload: one POST of `bytes` from a sparse file. */
  direction?: "download" | "upload";
}

export interface ColdScenario {
  name: "cold";
  kind: "cold";
  app: string;
  description: string;
  path: string;
}

export type Scenario = LoadScenario | StreamScenario | ColdScenario;

const hello: Check = { path: "/", expect: "Hello World!" };

export const SCENARIOS: Scenario[] = [
  {
    name: "hello",
    kind: "wrk",
    app: "hello.wsgi",
    description: "Hello World (12 bytes), wrk -t1 -c32",
    readyPath: "/",
    check: hello,
    load: (duration) => ({ threads: 1, connections: 32, duration }),
  },
  {
    name: "flask",
    kind: "wrk",
    app: "flask_json.wsgi",
    description: "Flask JSON view (Debian's Flask 2.2), wrk -t1 -c32",
    readyPath: "/",
    check: { path: "/", expect: { contains: '"message":"Hello World!"' } },
    load: (duration) => ({ threads: 1, connections: 32, duration }),
  },
  {
    name: "64k",
    kind: "wrk",
    app: "body64k.wsgi",
    description: "64 KiB response, wrk -t1 -c32",
    readyPath: "/",
    check: { path: "/", expect: { length: 65536 } },
    load: (duration) => ({ threads: 1, connections: 32, duration }),
  },
  {
    name: "sleep",
    kind: "wrk",
    app: "sleep10ms.wsgi",
    description: "app sleeps 10 ms, wrk -t1 -c256",
    readyPath: "/",
    check: { path: "/", expect: "slept 10 ms" },
    load: (duration) => ({ threads: 1, connections: 256, duration }),
  },
  {
    name: "upload",
    kind: "wrk",
    app: "upload_echo.wsgi",
    description: "10 MiB POST read fully, length echoed, wrk -t1 -c4 -s upload.lua (MiB/s = request bodies)",
    readyPath: "/",
    check: { method: "POST", path: "/", body: new Uint8Array(UPLOAD_BYTES).fill(120), expect: String(UPLOAD_BYTES) },
    load: (duration) => ({
      threads: 1,
      connections: 4,
      duration,
      script: "bench/apps/upload.lua",
      scriptArgs: [String(UPLOAD_BYTES)],
    }),
    requestBytes: UPLOAD_BYTES,
  },
  {
    name: "stream",
    kind: "stream",
    app: "stream_1g.wsgi",
    description: "1 GiB generator (64 KiB chunks) fetched once: curl -o /dev/null; RSS growth = peak - before",
    readyPath: "/?chunks=1",
    check: { path: "/?chunks=1", expect: { length: 65536 } },
    bytes: STREAM_BYTES,
  },
  {
    name: "upload1g",
    kind: "stream",
    direction: "upload",
    app: "upload_echo.wsgi",
    description: "1 GiB POST (Content-Length) read in 64 KiB pieces, once: curl -T FILE; RSS growth = peak - before",
    readyPath: "/",
    check: { method: "POST", path: "/", body: new Uint8Array(65536).fill(120), expect: "65536" },
    bytes: STREAM_BYTES,
  },
  {
    name: "cold",
    kind: "cold",
    app: "hello.wsgi",
    description: "process start to first 200 on the hello app (scripts/cold-start.ts coldStart)",
    path: "/",
  },
];

/** Throws unless the body matches the check's expectation. */
export function verify(check: Check, status: number, body: Uint8Array): void {
  const text = () => new TextDecoder().decode(body);
  const expect = check.expect;
  const ok =
    status === 200 &&
    (typeof expect === "string"
      ? text() === expect
      : "length" in expect
        ? body.length === expect.length
        : text().includes(expect.contains));
  if (!ok) {
    const shown = body.length > 300 ? `${text().slice(0, 300)}... (${body.length} bytes)` : text();
    throw new Error(`${check.method ?? "GET"} ${check.path}: expected 200 with ${JSON.stringify(expect)}, got ${status}: ${shown}`);
  }
}
