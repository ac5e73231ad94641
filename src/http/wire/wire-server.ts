// The HTTP/1.1 listener: Bun.listen sockets, one Connection each, a cap on open connections, and a
// once-a-second sweep for the timeouts (cheaper than a timer per request).
import type { Socket, SocketHandler, TCPSocketListener, TLSOptions, UnixSocketListener } from "bun";
import type { ErrorLog } from "../../log/error-log.ts";
import type { SniSelect } from "../site/sni.ts";
import { Connection } from "./connection.ts";
import type { ResponseFacts } from "../../log/log-record.ts";
import type { ParsedHead } from "./head-parser.ts";
import type { WireLimits } from "./limits.ts";
import type { RequestBody } from "./request-body.ts";

export interface WireServerOptions {
  host: string;
  port: number;
  /** Listen on this unix socket instead of host:port (a daemon process's private socket, see src/daemon/). */
  unix?: string;
  /** Share the port with other processes (SO_REUSEPORT). */
  reusePort: boolean;
  tls?: TLSOptions;
  /** Another certificate for some names a TLS client may send (SNI, see http/site/sni.ts). */
  sni?: SniSelect;
  limits: WireLimits;
  serverSoftware: string;
  errorLog: ErrorLog;
  /** Serves one request; its response ends with the connection's finished(). */
  dispatch(connection: Connection, head: ParsedHead, body: RequestBody): void;
  /** A response went out (or an error page for a request that could not be read: head is null). */
  logAccess(connection: Connection, head: ParsedHead | null, requestLine: string, status: number, bytes: number,
    response: ResponseFacts | undefined, keepAlive: boolean): void;
}

const SWEEP_MS = 1_000;
/**
 * Connections refused past --max-connections are logged as Apache logs reaching MaxRequestWorkers:
 * once, not each (clients retrying at once wrote ~17,000 lines a second), then a count of the ones
 * since, every REFUSALS_LOG_MS while they go on.
 */
const REFUSALS_LOG_MS = 10_000;
/**
 * Stopping gracefully, a keep-alive connection is closed once it has stayed idle this long. Closed at
 * once, the request its client sent as the last response reached it met the close instead: under wrk
 * -c32, up to one read error per connection at each graceful reload.
 */
const DRAIN_IDLE_MS = 250;
const DRAIN_SWEEP_MS = 50;

export class WireServer {
  readonly limits: WireLimits;
  readonly serverSoftware: string;
  readonly errorLog: ErrorLog;
  readonly dispatch: WireServerOptions["dispatch"];
  readonly logAccess: WireServerOptions["logAccess"];
  /** Stopping gracefully: no new connections, and responses close theirs. */
  draining = false;
  /** 0 on a unix socket. */
  readonly port: number;
  /**
   * A worker may read a large request body from the socket itself (RequestBody.handOver): a plain
   * socket whose descriptor Bun shows. Not under TLS, where the bytes on the socket are encrypted.
   */
  readonly lendsSockets: boolean;
  /** Its connections speak TLS. */
  readonly tls: boolean;
  private readonly listener: TCPSocketListener<Connection> | UnixSocketListener<Connection>;
  private readonly connections = new Set<Connection>();
  private readonly sweep: Timer;
  /** Refusals since the last line about them; the timer runs while they go on. */
  private unloggedRefusals = 0;
  private refusalsTimer: Timer | null = null;
  private drainSweep: Timer | null = null;

  constructor(options: WireServerOptions) {
    this.limits = options.limits;
    this.serverSoftware = options.serverSoftware;
    this.errorLog = options.errorLog;
    this.dispatch = options.dispatch;
    this.logAccess = options.logAccess;
    this.tls = Boolean(options.tls);
    this.lendsSockets = !this.tls;
    const socket: SocketHandler<Connection> = {
      open: (socket) => this.open(socket),
      data: (socket, bytes) => socket.data?.receive(bytes),
      end: (socket) => socket.data?.peerEnded(),
      drain: (socket) => socket.data?.drain(),
      close: (socket) => this.close(socket),
      error: (socket) => this.close(socket),
    };
    // The handshake's certificate by name: Bun.listen's hook for this (node:tls's SNICallback uses it)
    // is not in its types; it takes a native context from node:tls's createSecureContext().
    const sni = options.sni;
    if (sni) Object.assign(socket, { serverName: (_data: unknown, name: string) => sni(name) });
    // A client's FIN is not the end of the connection: its requests are still answered (end above).
    const halfOpen = { allowHalfOpen: true };
    if (options.unix !== undefined) {
      this.listener = Bun.listen<Connection>({ unix: options.unix, ...halfOpen, socket });
      this.port = 0;
    } else {
      const listener = Bun.listen<Connection>({
        hostname: options.host,
        port: options.port,
        // Bun.listen takes reusePort although its types list it for connect only.
        ...({ reusePort: options.reusePort } as object),
        ...(options.tls ? { tls: options.tls } : {}),
        ...halfOpen,
        socket,
      });
      this.listener = listener;
      this.port = listener.port;
    }
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connections) connection.checkTimers(now);
    }, SWEEP_MS);
    this.sweep.unref();
  }

  private open(socket: Socket<Connection>): void {
    socket.setNoDelay(true);
    const connection = new Connection(socket, this);
    socket.data = connection;
    const max = this.limits.maxConnections;
    // Past the cap: answered 503 as soon as its request arrives, rather than queued without bound.
    if (max > 0 && this.connections.size >= max) {
      connection.refuse(`${this.connections.size} connections open, the most allowed (--max-connections)`);
    }
    this.connections.add(connection);
  }

  private close(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (!connection) return;
    connection.onClose();
    this.connections.delete(connection);
  }

  /** A connection refused past --max-connections answers its request 503: the log hears of it (see REFUSALS_LOG_MS). */
  noteRefusal(connection: Connection, reason: string): void {
    if (this.refusalsTimer) {
      this.unloggedRefusals++;
      return;
    }
    this.errorLog.warn(`[client ${connection.peerAddress}:${connection.peerPort}] 503: ${reason}. ` +
      `Further refusals are counted, and logged every ${REFUSALS_LOG_MS / 1000} s while they go on.`);
    this.refusalsTimer = setTimeout(this.logRefusals, REFUSALS_LOG_MS);
    this.refusalsTimer.unref();
  }

  private readonly logRefusals = (): void => {
    this.refusalsTimer = null;
    if (this.unloggedRefusals === 0) return; // they stopped: the next one is logged in full
    this.flushRefusals();
    this.refusalsTimer = setTimeout(this.logRefusals, REFUSALS_LOG_MS);
    this.refusalsTimer.unref();
  };

  private flushRefusals(): void {
    if (this.unloggedRefusals === 0) return;
    this.errorLog.warn(`${this.unloggedRefusals} more connections refused with 503 since the last line about them: ` +
      `${this.limits.maxConnections} open, the most allowed (--max-connections).`);
    this.unloggedRefusals = 0;
  }

  /** Requests being served right now. */
  get active(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.current) count++;
    return count;
  }

  /**
   * Graceful: stop accepting; the busy connections close after their response (Connection: close), the
   * idle ones once idle DRAIN_IDLE_MS, each with a lingering close. `closing` falls to 0 as they go.
   */
  stopAccepting(): void {
    if (this.draining) return;
    this.draining = true;
    this.listener.stop(false);
    const sweep = () => {
      const now = Date.now();
      for (const connection of this.connections) connection.closeIfIdle(DRAIN_IDLE_MS, now);
    };
    sweep();
    this.drainSweep = setInterval(sweep, DRAIN_SWEEP_MS);
  }

  /**
   * The connections a graceful stop waits for: serving a request, or closing after one until the
   * client's side closes too (or the lingering close's limits): closed at once, a response the client
   * has not read yet would be lost to the reset. Those closed while idle are not waited for.
   */
  get closing(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.drainWaits) count++;
    return count;
  }

  /** At once: every connection closed. */
  stop(): void {
    this.draining = true;
    clearInterval(this.sweep);
    if (this.drainSweep) clearInterval(this.drainSweep);
    if (this.refusalsTimer) clearTimeout(this.refusalsTimer);
    this.flushRefusals();
    this.listener.stop(true);
    for (const connection of this.connections) connection.socket.terminate();
  }
}
