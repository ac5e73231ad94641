// Routes each request to its alias (Hono's router) and runs it as a WSGI exchange with a worker:
// the hot path, top to bottom in dispatch().
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { AliasConfig } from "../config.ts";
import type { AccessLog } from "../log/access-log.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { Refusal, type Pool, type WorkerSlot } from "../pool/pool.ts";
import type { StatusHandler } from "../status/server-status.ts";
import { aliasCovers } from "./aliases.ts";
import { writeRequestHead } from "./request-head.ts";
import { parseTarget } from "./request-target.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";
import type { Connection } from "./wire/connection.ts";
import type { ParsedHead } from "./wire/head-parser.ts";
import type { RequestBody } from "./wire/request-body.ts";
import { WireResponse } from "./wire/response-writer.ts";
import { runExchange, type BodySource, type ResponseSink } from "./wsgi-exchange.ts";

export interface Route {
  alias: AliasConfig;
  /** The resolved application group name ("" is the main interpreter). */
  group: string;
}

export interface AppContext {
  routes: Route[];
  pool: Pool;
  reload: boolean;
  serverName: string;
  port: number;
  scheme: "http" | "https";
  serverSoftware: string;
  errorLog: ErrorLog;
  accessLog: AccessLog | null;
  limitRequestBody: number;
  /** --queue-timeout in ms; 0 is none. */
  queueTimeoutMs: number;
  /** WSGITrustedProxies: whose X-Forwarded-* headers count; null when none is configured. */
  trustedProxies: TrustedProxies | null;
  /** Runs for every request taken (process/recycler.ts counts them). */
  onRequest?: () => void;
  /** --server-status: the page, answered before the aliases, and the counters it shows (null: off). */
  status?: StatusHandler | null;
  /** Runs for every response, after the access log (the library's onRequest). */
  onAccess?: (peer: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number) => void;
}

/** Who sent a request, whichever front it came through (a wire Connection, or fetch-front.ts). */
export interface Peer {
  readonly peerAddress: string;
  readonly peerPort: number;
  /** Give up on the response: the client must see it is incomplete. */
  cut(): void;
  /** The response is over (after cut(), for an internal error). */
  finished(status: number, bytes: number, keepAlive: boolean): void;
}

/** Makes one request's response sink: the wire's WireResponse, or fetch-front.ts's. */
export type SinkFactory<P extends Peer> = (peer: P, isHead: boolean, http10: boolean, label: string) => ResponseSink;

export interface App {
  dispatch(connection: Connection, head: ParsedHead, body: RequestBody): void;
  /** dispatch() for another front: its peer, its request body and its response sinks. */
  dispatchTo<P extends Peer>(peer: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void>;
  logAccess(connection: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number): void;
}

let requestCounter = 0;

export function createApp(context: AppContext): App {
  const router = aliasRouter(context.routes);
  const { pool, errorLog } = context;
  const requestIdPrefix = `${process.pid.toString(36)}-`;
  const wireSink: SinkFactory<Connection> = (connection, isHead, http10, label) =>
    new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, label);
  // --server-status counters (status/stats.ts): a few increments per request, nothing allocated.
  const status = context.status ?? null;
  const stats = status?.stats ?? null;
  const routeIndexes = new Map(context.routes.map((route, index) => [route, index]));
  const workerDone = stats ? (slot: WorkerSlot) => stats.workerDone(slot) : undefined;

  async function dispatch<P extends Peer>(connection: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void> {
    context.onRequest?.();
    const started = stats ? performance.now() : 0;
    const http10 = head.protocol === "HTTP/1.0";
    const isHead = head.method === "HEAD";
    if (head.target === "*" && head.method === "OPTIONS") {
      // The server's own options (RFC 9110 9.3.7), as Apache answers them.
      return makeSink(connection, false, http10, "*").complete("200 OK\0Allow\0GET, HEAD, POST, OPTIONS", new Uint8Array(0));
    }
    const target = parseTarget(head.target);
    if (typeof target === "number") {
      return makeSink(connection, isHead, http10, head.target).fail(target);
    }
    if (status?.covers(target.path)) {
      return status.serve(connection.peerAddress, head.method, target.path, target.query, makeSink(connection, isHead, http10, target.path));
    }
    const route = router.match(head.method, target.path)[0][0]?.[0];
    if (!route || !aliasCovers(route.alias.url, target.path)) {
      return makeSink(connection, isHead, http10, target.raw).fail(404);
    }
    const { alias } = route;
    const response = makeSink(connection, isHead, http10, alias.script);
    const routeIndex = stats ? routeIndexes.get(route)! : -1;
    if (context.limitRequestBody && head.contentLength > context.limitRequestBody) {
      errorLog.error(`Requested content-length of ${head.contentLength} is larger than the configured limit of ${context.limitRequestBody}`);
      response.fail(413);
      return stats?.routed(routeIndex, 413, started, 0, 0);
    }
    const asked = stats ? performance.now() : 0;
    const slot = await pool.acquire(context.queueTimeoutMs);
    if (slot instanceof Refusal) {
      errorLog.error(`${slot.reason} for WSGI request to '${alias.script}': ${slot.detail}.`);
      response.fail(503);
      return stats?.routed(routeIndex, 503, started, 0, 0);
    }
    const acquired = stats ? performance.now() : 0;
    let remoteAddr = connection.peerAddress;
    let scheme: string = context.scheme;
    let host = target.host ?? head.host;
    let serverPort = String(context.port);
    let headers = head.headers;
    if (context.trustedProxies) {
      const forwarded = context.trustedProxies.resolve(remoteAddr, scheme, headers);
      ({ remoteAddr, scheme, headers } = forwarded);
      if (forwarded.host) {
        host = forwarded.host;
        headers = withHost(headers, forwarded.host);
      }
      if (forwarded.port) serverPort = forwarded.port;
    }
    const headLength = writeRequestHead(slot.channel, {
      group: route.group,
      script: alias.script,
      callable: alias.callableObject,
      reload: context.reload,
      passAuthorization: alias.passAuthorization,
      scriptName: alias.url === "/" ? "" : alias.url,
      pathInfo: alias.url === "/" ? target.path : target.path.slice(alias.url.length),
      query: target.query,
      method: head.method,
      protocol: head.protocol,
      requestUri: target.raw,
      remoteAddr,
      remotePort: String(connection.peerPort),
      serverName: host ? hostName(host) : context.serverName,
      serverPort,
      scheme,
      bodyLength: head.chunked ? "chunked" : head.contentLength >= 0 ? String(head.contentLength) : "",
      requestId: requestIdPrefix + (++requestCounter).toString(36),
      headers,
    });
    if (headLength < 0) {
      pool.release(slot);
      response.fail(431);
      return stats?.routed(routeIndex, 431, started, asked, acquired);
    }
    stats?.running(slot, routeIndex);
    await runExchange(pool, slot, headLength, body, response, workerDone);
    stats?.routed(routeIndex, response.status, started, asked, acquired);
  }

  function logAccess(connection: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number): void {
    stats?.response(status, bytes);
    context.onAccess?.(connection, head, requestLine, status, bytes);
    context.accessLog?.write({
      remoteAddr: connection.peerAddress,
      requestLine,
      status,
      bytes,
      referer: head ? headerValue(head, "referer") : null,
      userAgent: head ? headerValue(head, "user-agent") : null,
    });
  }

  function dispatchTo<P extends Peer>(peer: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void> {
    return dispatch(peer, head, body, makeSink).catch((error: Error) => {
      errorLog.error(`Internal error serving ${head.method} ${head.target}: ${error.stack ?? error}`);
      peer.cut();
      peer.finished(500, 0, false);
    });
  }

  return {
    dispatch(connection, head, body) {
      void dispatchTo(connection, head, body, wireSink);
    },
    dispatchTo,
    logAccess,
  };
}

/** Registration order is match order: the first declared alias that covers a path wins. */
function aliasRouter(routes: Route[]): SmartRouter<Route> {
  const router = new SmartRouter<Route>({ routers: [new RegExpRouter(), new TrieRouter()] });
  for (const route of routes) {
    if (route.alias.url === "/") router.add("ALL", "*", route);
    else {
      router.add("ALL", route.alias.url, route);
      router.add("ALL", `${route.alias.url}/*`, route);
    }
  }
  return router;
}

/** The host part of a Host header: "example.com:8000" -> "example.com", "[::1]:80" -> "[::1]". */
function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

/** The headers with Host replaced (X-Forwarded-Host from a trusted proxy becomes HTTP_HOST, as in mod_wsgi). */
function withHost(headers: string[], host: string): string[] {
  const out = headers.filter((_, i) => i % 2 === 0 ? headers[i]!.toLowerCase() !== "host" : headers[i - 1]!.toLowerCase() !== "host");
  out.push("Host", host);
  return out;
}

function headerValue(head: ParsedHead, lowerName: string): string | null {
  const headers = head.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === lowerName.length && headers[i]!.toLowerCase() === lowerName) return headers[i + 1]!;
  }
  return null;
}
