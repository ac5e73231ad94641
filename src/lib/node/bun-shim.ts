// The library on Node: the few Bun APIs the server uses, over Node's own (net, child_process,
// worker_threads). esbuild's `inject` (build/library.ts) makes the library bundle's free `Bun` and
// `Worker` identifiers these exports; on Bun they are Bun's own. Nothing is put on globalThis, so
// code in the host that tests `typeof Bun` is not misled.
import { spawnSync as nodeSpawnSync } from "node:child_process";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Worker as NodeThread } from "node:worker_threads";

type Handlers = {
  open?(socket: NodeSocket): void;
  data?(socket: NodeSocket, bytes: Buffer): void;
  drain?(socket: NodeSocket): void;
  close?(socket: NodeSocket): void;
  error?(socket: NodeSocket, error: Error): void;
  end?(socket: NodeSocket): void;
};

/** A net.Socket as the subset of Bun's Socket that the wire front (http/wire/connection.ts) uses. */
class NodeSocket {
  data: unknown = undefined;

  constructor(private readonly raw: Socket, handlers: Handlers) {
    raw.on("data", (bytes: Buffer) => handlers.data?.(this, bytes));
    raw.on("drain", () => handlers.drain?.(this));
    raw.on("error", (error) => handlers.error?.(this, error));
    raw.on("close", () => handlers.close?.(this));
    raw.on("end", () => handlers.end?.(this)); // the client's FIN (the server allows half-open sockets)
  }

  get remoteAddress(): string {
    return this.raw.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this.raw.remotePort ?? 0;
  }

  get localAddress(): string {
    return this.raw.localAddress ?? "";
  }

  /**
   * Bun's contract: the bytes written now (the caller keeps the rest), -1 when closed. Node queues
   * whatever it is given and keeps a reference, so the bytes are copied (the caller may reuse them:
   * they can be a worker's channel), and none are taken while Node's buffer is over its mark.
   */
  write(bytes: Uint8Array): number {
    const raw = this.raw;
    if (raw.destroyed || !raw.writable) return -1;
    if (raw.writableNeedDrain) return 0;
    raw.write(Buffer.from(bytes));
    return bytes.length;
  }

  end(): void {
    this.raw.end();
  }

  terminate(): void {
    this.raw.destroy();
  }

  /** Our FIN; the socket stays readable until the client's (Bun's socket.shutdown()). */
  shutdown(): void {
    this.raw.end();
  }

  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }

  setNoDelay(on: boolean): void {
    this.raw.setNoDelay(on);
  }
}

/** Bun.listen binds at once and knows its port; net.Server binds later: the library binds first (adopt). */
let adopted: Server | null = null;

export async function adoptNodeServer(host: string, port: number): Promise<number> {
  // Half-open, as Bun's: a client's FIN must not close our side before its requests are answered.
  const server = createServer({ noDelay: true, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  adopted = server;
  return (server.address() as AddressInfo).port;
}

function listen(options: { socket: Handlers }) {
  const server = adopted;
  adopted = null;
  if (!server) throw new Error("wsgi-bin on Node listens through server.listen() only");
  const sockets = new Set<NodeSocket>();
  server.on("connection", (raw: Socket) => {
    const socket = new NodeSocket(raw, options.socket);
    sockets.add(socket);
    raw.on("close", () => sockets.delete(socket));
    options.socket.open?.(socket);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop(closeActive = false) {
      server.close();
      if (closeActive) for (const socket of sockets) socket.terminate();
    },
  };
}

function spawnSync(command: string[], options: { stdout?: string; stderr?: string } = {}) {
  const run = nodeSpawnSync(command[0]!, command.slice(1), { stdio: ["ignore", options.stdout === "inherit" ? "inherit" : "pipe", options.stderr === "inherit" ? "inherit" : "pipe"] });
  if (run.error) throw run.error; // as Bun.spawnSync throws for a command that cannot start
  return { exitCode: run.status, stdout: run.stdout ?? Buffer.alloc(0), stderr: run.stderr ?? Buffer.alloc(0) };
}

const nodeBun = {
  listen,
  spawnSync,
  /** Bun.gc(true): a full collection where Node allows one (--expose-gc); otherwise V8 decides. */
  gc(_full?: boolean): void {
    (globalThis as { gc?: () => void }).gc?.();
  },
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** A worker_threads Worker as the web Worker the pool starts (postMessage, terminate). */
class NodeWorker {
  private readonly thread: NodeThread;

  constructor(url: string | URL) {
    this.thread = new NodeThread(typeof url === "string" ? new URL(url) : url);
    this.thread.on("error", (error: Error) => process.stderr.write(`wsgi-bin: a worker thread failed: ${error.stack ?? error}\n`));
  }

  postMessage(message: unknown): void {
    this.thread.postMessage(message);
  }

  terminate(): void {
    void this.thread.terminate();
  }
}

const real = globalThis as { Bun?: unknown; Worker?: unknown };
export const Bun = (real.Bun ?? nodeBun) as typeof globalThis.Bun;
export const Worker = (real.Worker ?? NodeWorker) as typeof globalThis.Worker;
