// Routes each request to its alias (Hono's router) and runs it as a WSGI exchange with a worker:
// the hot path, top to bottom in dispatch().
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { AliasConfig } from "../config.ts";
import type { FrontView } from "../daemon/front-headers.ts";
import type { AccessLog } from "../log/access-log.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { Refusal, type Pool } from "../pool/pool.ts";
import { aliasCovers } from "./aliases.ts";
import { writeRequestHead } from "./request-head.ts";
import { parseTarget } from "./request-target.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";
import type { Connection } from "./wire/connection.ts";
import type { ParsedHead } from "./wire/head-parser.ts";
import type { RequestBody } from "./wire/request-body.ts";
import { WireResponse } from "./wire/response-writer.ts";
import { runExchange } from "./wsgi-exchange.ts";

export interface Route {
  alias: AliasConfig;
  /** The resolved application group name ("" is the main interpreter). */
  group: string;
}

export interface AppContext {
  routes: Route[];
  /** Null when every route runs in a daemon process group (this process loads no Python). */
  pool: Pool | null;
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
  /** A front process: runs the routes of daemon process groups (src/daemon/proxy.ts). */
  daemons?: { forward(connection: Connection, head: ParsedHead, body: RequestBody, alias: AliasConfig, response: WireResponse): Promise<void> } | null;
  /** A daemon process: the client as the front saw it (src/daemon/front-headers.ts). */
  fromFront?: (headers: string[], fallback: FrontView) => FrontView;
}

export interface App {
  dispatch(connection: Connection, head: ParsedHead, body: RequestBody): void;
  logAccess(connection: Connection, head: ParsedHead | null, requestLine: string, status: number, bytes: number): void;
}

let requestCounter = 0;

export function createApp(context: AppContext): App {
  const router = aliasRouter(context.routes);
  const { errorLog } = context;
  const pool = context.pool!; // there when a route runs here (src/daemon/daemon-config.ts)
  const requestIdPrefix = `${process.pid.toString(36)}-`;

  async function dispatch(connection: Connection, head: ParsedHead, body: RequestBody): Promise<void> {
    context.onRequest?.();
    const http10 = head.protocol === "HTTP/1.0";
    const isHead = head.method === "HEAD";
    if (head.target === "*" && head.method === "OPTIONS") {
      // The server's own options (RFC 9110 9.3.7), as Apache answers them.
      return new WireResponse(connection, false, http10, context.serverSoftware, errorLog, "*").complete("200 OK\0Allow\0GET, HEAD, POST, OPTIONS", new Uint8Array(0));
    }
    const target = parseTarget(head.target);
    if (typeof target === "number") {
      return new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, head.target).fail(target);
    }
    const route = router.match(head.method, target.path)[0][0]?.[0];
    if (!route || !aliasCovers(route.alias.url, target.path)) {
      return new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, target.raw).fail(404);
    }
    const { alias } = route;
    const response = new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, alias.script);
    if (context.limitRequestBody && head.contentLength > context.limitRequestBody) {
      errorLog.error(`Requested content-length of ${head.contentLength} is larger than the configured limit of ${context.limitRequestBody}`);
      return response.fail(413);
    }
    // Daemon mode: the route's process group runs it, in its own processes.
    if (alias.processGroup && context.daemons) return context.daemons.forward(connection, head, body, alias, response);
    const slot = await pool.acquire(context.queueTimeoutMs);
    if (slot instanceof Refusal) {
      errorLog.error(`${slot.reason} for WSGI request to '${alias.script}': ${slot.detail}.`);
      return response.fail(503);
    }
    let remoteAddr = connection.peerAddress;
    let remotePort = String(connection.peerPort);
    let scheme: string = context.scheme;
    let host = target.host ?? head.host;
    let serverPort = String(context.port);
    let headers = head.headers;
    if (context.fromFront) ({ remoteAddr, remotePort, scheme, serverPort, headers } = context.fromFront(headers, { remoteAddr, remotePort, scheme, serverPort, headers }));
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
      remotePort,
      serverName: host ? hostName(host) : context.serverName,
      serverPort,
      scheme,
      bodyLength: head.chunked ? "chunked" : head.contentLength >= 0 ? String(head.contentLength) : "",
      requestId: requestIdPrefix + (++requestCounter).toString(36),
      headers,
    });
    if (headLength < 0) {
      pool.release(slot);
      return response.fail(431);
    }
    await runExchange(pool, slot, headLength, body, response);
  }

  function logAccess(connection: Connection, head: ParsedHead | null, requestLine: string, status: number, bytes: number): void {
    context.accessLog?.write({
      remoteAddr: connection.peerAddress,
      requestLine,
      status,
      bytes,
      referer: head ? headerValue(head, "referer") : null,
      userAgent: head ? headerValue(head, "user-agent") : null,
    });
  }

  return {
    dispatch(connection, head, body) {
      dispatch(connection, head, body).catch((error: Error) => {
        errorLog.error(`Internal error serving ${head.method} ${head.target}: ${error.stack ?? error}`);
        connection.cut();
        connection.finished(500, 0, false);
      });
    },
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
