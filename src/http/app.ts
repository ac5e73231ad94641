// Routes aliases to scripts (Hono) and turns each request into a WSGI exchange with a worker.
import type { Server } from "bun";
import { Hono } from "hono";
import type { AliasConfig } from "../config.ts";
import type { AccessLog } from "../log/access-log.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { Refusal, type Pool } from "../pool/pool.ts";
import { aliasCovers } from "./aliases.ts";
import { errorResponse } from "./error-page.ts";
import { writeRequestHead } from "./request-head.ts";
import { parseTarget, routingPath } from "./request-target.ts";
import type { SlowRequests } from "./slow-requests.ts";
import { WsgiExchange } from "./wsgi-exchange.ts";

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
  errorLog: ErrorLog;
  accessLog: AccessLog | null;
  slowRequests: SlowRequests;
  limitRequestBody: number;
  /** --queue-timeout in ms; 0 is none. */
  queueTimeoutMs: number;
}

type Env = { Bindings: Server<unknown> };

let requestCounter = 0;

export function createApp(context: AppContext): Hono<Env> {
  const app = new Hono<Env>({ getPath: routingPath });
  // Registration order is match order: the first declared alias that covers a path wins.
  for (const route of context.routes) {
    const handler = (c: { req: { raw: Request }; env: Server<unknown> }) => serve(context, route, c.req.raw, c.env);
    if (route.alias.url === "/") app.all("*", handler);
    else {
      app.all(route.alias.url, handler);
      app.all(`${route.alias.url}/*`, handler);
    }
  }
  app.notFound((c) => {
    logAccess(context, c.req.raw, c.env, 404, 0);
    return errorResponse(404);
  });
  app.onError((error, c) => {
    context.errorLog.error(`Internal error serving ${c.req.method} ${c.req.url}: ${error.stack ?? error}`);
    return errorResponse(500);
  });
  return app;
}

async function serve(context: AppContext, route: Route, request: Request, server: Server<unknown>): Promise<Response> {
  const { alias } = route;
  const { raw, path, query } = parseTarget(request.url);
  if (!aliasCovers(alias.url, path)) return finishEarly(context, request, server, 404);

  const headers = request.headers;
  const contentLength = headers.get("content-length");
  if (context.limitRequestBody && contentLength && Number(contentLength) > context.limitRequestBody) {
    context.errorLog.error(`Requested content-length of ${contentLength} is larger than the configured limit of ${context.limitRequestBody}`);
    return finishEarly(context, request, server, 413);
  }
  const peer = server.requestIP(request);
  const host = headers.get("host");
  const slot = await context.pool.acquire(context.queueTimeoutMs);
  if (slot instanceof Refusal) {
    context.errorLog.error(`${slot.reason} for WSGI request to '${alias.script}': ${slot.detail}.`);
    return finishEarly(context, request, server, 503);
  }
  const headLength = writeRequestHead(slot.channel, {
    group: route.group,
    script: alias.script,
    callable: alias.callableObject,
    reload: context.reload,
    passAuthorization: alias.passAuthorization,
    scriptName: alias.url === "/" ? "" : alias.url,
    pathInfo: alias.url === "/" ? path : path.slice(alias.url.length),
    query,
    method: request.method,
    protocol: "HTTP/1.1",
    requestUri: raw,
    remoteAddr: peer?.address ?? "",
    remotePort: String(peer?.port ?? ""),
    serverName: host ? hostName(host) : context.serverName,
    serverPort: String(context.port),
    scheme: "http",
    bodyLength: contentLength ?? (request.body ? "chunked" : ""),
    requestId: `${process.pid.toString(36)}-${(++requestCounter).toString(36)}`,
    headers,
  });
  if (headLength < 0) {
    context.pool.release(slot);
    return finishEarly(context, request, server, 431);
  }
  context.slowRequests.begin(request);
  const exchange = new WsgiExchange(context.pool, slot, request.body, (status, bytes) => {
    context.slowRequests.end(request);
    logAccess(context, request, server, status, bytes);
  }, context.limitRequestBody);
  return exchange.response(headLength);
}

function finishEarly(context: AppContext, request: Request, server: Server<unknown>, status: number): Response {
  logAccess(context, request, server, status, 0);
  return errorResponse(status);
}

/** The host part of a Host header: "example.com:8000" -> "example.com", "[::1]:80" -> "[::1]". */
function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

function logAccess(context: AppContext, request: Request, server: Server<unknown>, status: number, bytes: number): void {
  if (!context.accessLog) return;
  const target = parseTarget(request.url).raw;
  context.accessLog.write({
    remoteAddr: server.requestIP(request)?.address ?? "-",
    requestLine: `${request.method} ${target} HTTP/1.1`,
    status,
    bytes,
    referer: request.headers.get("referer"),
    userAgent: request.headers.get("user-agent"),
  });
}
