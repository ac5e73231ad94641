// One listener's requests: the virtual host chosen by Host, then what the path maps to in it (a
// redirect, a file, or a WSGI route run as an exchange with a worker). The hot path, top to bottom in
// dispatch(); for a host with nothing but WSGIScriptAlias routes it is a router lookup.
import { settingsFor } from "../config/resolve.ts";
import type { AccessLog } from "../log/access-log.ts";
import type { ErrorLog } from "../log/error-log.ts";
import type { Pool } from "../pool/pool.ts";
import { writeRequestHead } from "./request-head.ts";
import { accessCheck } from "./site/access.ts";
import { headEditor } from "./site/header-rules.ts";
import { parseTarget, type Target } from "./request-target.ts";
import type { HostRuntime, Match } from "./site/host-runtime.ts";
import type { HostTable } from "./site/host-table.ts";
import { sendPage, sendRedirect } from "./site/pages.ts";
import { findRedirect, type UrlBase } from "./site/redirects.ts";
import { serveFile } from "./site/static-files.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";
import type { Connection } from "./wire/connection.ts";
import type { ParsedHead } from "./wire/head-parser.ts";
import type { RequestBody } from "./wire/request-body.ts";
import { WireResponse } from "./wire/response-writer.ts";
import { runExchange } from "./wsgi-exchange.ts";

export interface AppContext {
  /** The virtual hosts taking this listener's connections. */
  hosts: HostTable;
  pool: Pool;
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
}

export interface App {
  dispatch(connection: Connection, head: ParsedHead, body: RequestBody): void;
  logAccess(connection: Connection, head: ParsedHead | null, requestLine: string, status: number, bytes: number): void;
}

type WsgiMatch = Extract<Match, { kind: "wsgi" }>;

let requestCounter = 0;

export function createApp(context: AppContext): App {
  const { pool, errorLog } = context;
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
      const response = new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, head.target);
      response.editHead = context.hosts.select(head.host).editHead; // Header always applies to these too
      return response.fail(target);
    }
    const requestHost = target.host ?? head.host;
    const host = context.hosts.select(requestHost);
    const match = host.match(target.path);
    if (match?.kind === "wsgi") return runWsgi(connection, head, body, target, host, requestHost, match);
    const response = new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, match?.kind === "file" ? match.file : target.raw);
    const base: UrlBase = { scheme: context.scheme, host: requestHost, serverName: host.serverName };
    if (!match) {
      // Nothing maps the path, but a <Location> may still refuse it or redirect it (Apache checks access first).
      const settings = settingsFor(host.vhost, target.path);
      response.editHead = headEditor(settings.headers);
      const allow = accessCheck(settings.access);
      if (allow && !allow(connection.peerAddress, connection.socket.localAddress)) {
        errorLog.error(`[client ${connection.peerAddress}:${connection.peerPort}] AH01630: client denied by server configuration: ${target.path}`);
        return sendPage(response, 403);
      }
      const hit = settings.redirects?.length ? findRedirect(settings.redirects, target.path, target.query, base) : null;
      return hit ? sendRedirect(response, hit) : sendPage(response, 404);
    }
    if (match.kind === "redirect") {
      response.editHead = host.editHead;
      return sendRedirect(response, findRedirect(match.rules, target.path, target.query, base)!);
    }
    return serveFile({ connection, head, target, host, response, base, errorLog }, match.file, match.root, target.path);
  }

  async function runWsgi(connection: Connection, head: ParsedHead, body: RequestBody, target: Target, host: HostRuntime, requestHost: string | null, match: WsgiMatch): Promise<void> {
    const settings = match.settings;
    const response = new WireResponse(connection, head.method === "HEAD", head.protocol === "HTTP/1.0", context.serverSoftware, errorLog, match.script);
    response.editHead = settings.editHead;
    if (settings.allow && !settings.allow(connection.peerAddress, connection.socket.localAddress)) {
      errorLog.error(`[client ${connection.peerAddress}:${connection.peerPort}] AH01630: client denied by server configuration: ${match.script}`);
      return sendPage(response, 403);
    }
    if (settings.redirects) {
      const hit = findRedirect(settings.redirects, target.path, target.query, { scheme: context.scheme, host: requestHost, serverName: host.serverName });
      if (hit) return sendRedirect(response, hit);
    }
    if (context.limitRequestBody && head.contentLength > context.limitRequestBody) {
      errorLog.error(`Requested content-length of ${head.contentLength} is larger than the configured limit of ${context.limitRequestBody}`);
      return response.fail(413);
    }
    const slot = await pool.acquire(context.queueTimeoutMs);
    if (!slot) {
      errorLog.error(`Queue timeout expired for WSGI request to '${match.script}': no thread free within ${context.queueTimeoutMs / 1000} s.`);
      return response.fail(503);
    }
    let remoteAddr = connection.peerAddress;
    let scheme: string = context.scheme;
    let hostHeader = requestHost;
    let headers = head.headers;
    let forwardedPort: string | null = null;
    if (context.trustedProxies) {
      const forwarded = context.trustedProxies.resolve(remoteAddr, scheme, headers);
      ({ remoteAddr, scheme, headers } = forwarded);
      if (forwarded.host) {
        hostHeader = forwarded.host;
        headers = withHost(headers, forwarded.host);
      }
      forwardedPort = forwarded.port;
    }
    // Apache's ap_get_server_port (UseCanonicalName Off): the port Host names, else the scheme's.
    const serverPort = forwardedPort ?? (hostHeader ? hostPort(hostHeader) : null) ?? (scheme === "https" ? "443" : "80");
    const headLength = writeRequestHead(slot.channel, {
      group: settings.group,
      script: match.script,
      callable: settings.callable,
      reload: settings.reload,
      passAuthorization: settings.passAuthorization,
      scriptName: match.scriptName,
      pathInfo: match.pathInfo,
      query: target.query,
      method: head.method,
      protocol: head.protocol,
      requestUri: target.raw,
      remoteAddr,
      remotePort: String(connection.peerPort),
      serverName: hostHeader ? hostName(hostHeader) : host.serverName,
      serverPort,
      scheme,
      bodyLength: head.chunked ? "chunked" : head.contentLength >= 0 ? String(head.contentLength) : "",
      requestId: requestIdPrefix + (++requestCounter).toString(36),
      env: settings.env,
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

/** The host part of a Host header: "example.com:8000" -> "example.com", "[::1]:80" -> "[::1]". */
function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

/** The port part of a Host header, or null: "example.com:8000" -> "8000", "[::1]" -> null. */
function hostPort(host: string): string | null {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") && colon < host.length - 1 ? host.slice(colon + 1) : null;
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
