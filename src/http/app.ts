// One listener's requests: the virtual host chosen by Host, then what the path maps to in it (a
// redirect, a file, or a WSGI route run as an exchange with a worker). The hot path, top to bottom in
// dispatch(); for a host with nothing but WSGIScriptAlias routes it is a router lookup.
import { settingsFor } from "../config/resolve.ts";
import type { DaemonProxy } from "../daemon/proxy.ts";
import type { AccessLog, FormattedLog } from "../log/access-log.ts";
import { envValue, formatLine } from "../log/log-format.ts";
import type { ResponseFacts } from "../log/log-record.ts";
import { AccessRecord, envRequest } from "./access-record.ts";
import type { ErrorLog } from "../log/error-log.ts";
import type { AuthScript } from "../config/site.ts";
import { logItem, logPath } from "../log/log-item.ts";
import { Refusal, type Pool, type WorkerSlot } from "../pool/pool.ts";
import type { StatusHandler } from "../status/server-status.ts";
import { hostName, hostPort } from "./host-header.ts";
import { writeRequestHead } from "./request-head.ts";
import { AuthScripts } from "./auth-scripts.ts";
import { accessGate, type Gate } from "./site/access.ts";
import { admitRequest, remoteUsers } from "./site/basic-auth.ts";
import { errorRedirect, NO_BODY, type ErrorRedirect } from "./error-redirect.ts";
import type { ErrorDetour, ErrorDocuments } from "./site/error-documents.ts";
import { headEditor } from "./site/header-rules.ts";
import type { PageDetail } from "./error-page.ts";
import { parseTarget, targetAuthority, type Target } from "./request-target.ts";
import type { HostRuntime, Match, RouteSettings } from "./site/host-runtime.ts";
import type { HostTable } from "./site/host-table.ts";
import { sendPage, sendRedirect } from "./site/pages.ts";
import { serverSignature } from "./site/environ-context.ts";
import { findRedirect, redirectHit, type UrlBase } from "./site/redirects.ts";
import type { RewriteRequest } from "./site/rewrite.ts";
import { misdirection } from "./site/sni.ts";
import { sendMissing, serveFile } from "./site/static-files.ts";
import { answerTrace } from "./site/trace.ts";
import { nowMicros } from "./site/header-format.ts";
import { Connection } from "./wire/connection.ts";
import { headerValue, type ParsedHead } from "./wire/head-parser.ts";
import type { RequestBody } from "./wire/request-body.ts";
import { type HeadEditor, WireResponse } from "./wire/response-writer.ts";
import { runExchange, type BodySource, type ResponseSink } from "./wsgi-exchange.ts";

export interface AppContext {
  /** The virtual hosts taking this listener's connections. */
  hosts: HostTable;
  /** Null in a front process all of whose routes run in daemon process groups (it loads no Python). */
  pool: Pool | null;
  /** A front process's way to the daemon process groups (src/daemon/); null when there are none. */
  daemons?: DaemonProxy | null;
  scheme: "http" | "https";
  serverSoftware: string;
  errorLog: ErrorLog;
  accessLog: AccessLog | null;
  /** --queue-timeout in ms; 0 is none. */
  queueTimeoutMs: number;
  /** Runs for every request taken (process/recycler.ts counts them). */
  onRequest?: () => void;
  /** --server-status: the page, answered before the routes, and the counters it shows (null: off). */
  status?: StatusHandler | null;
  /** The status page's route index of each script (its per-alias figures); absent: not counted per alias. */
  statRoutes?: Map<string, number>;
  /** Runs for every response, after the access log (the library's onRequest). */
  onAccess?: (peer: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number) => void;
}

/** Who sent a request, whichever front it came through (a wire Connection, or fetch-front.ts). */
export interface Peer {
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The address the request arrived at (Require local); absent in process. */
  readonly localAddress?: string;
  /** The name a TLS client sent in its handshake (SNI): null for none; undefined but on this process's own TLS connections. */
  readonly serverNameIndication?: string | null;
  /** A daemon process's relayed request: the user the front process authenticated (REMOTE_USER). */
  readonly relayedUser?: string | null;
  /** A daemon process's relayed request: the name the client sent the front in its TLS handshake. */
  readonly relayedServerName?: string | null;
  /** In a daemon process: the request is an ErrorDocument's script's, relayed by the front (error-redirect.ts). */
  readonly relayedRedirect?: ErrorRedirect | null;
  /** Give up on the response: the client must see it is incomplete. */
  cut(): void;
  /** The response is over (after cut(), for an internal error). */
  finished(status: number, bytes: number, keepAlive: boolean, response?: ResponseFacts): void;
}

/** A response sink that Header rules can edit (the wire's; fetch-front.ts's ignores them). */
export type EditableSink = ResponseSink & {
  editHead?: HeadEditor | null; errorDocuments?: ErrorDocuments | null; errorDetour?: ErrorDetour | null; errorLog?: ErrorLog; serverAdmin?: string;
  /** The connection ends after this response (wire only): see ErrorRedirect.closes. */
  closes?: boolean;
  /** When the request was received (µs since the epoch), for the Header rules' %t and %D. */
  readonly started?: number;
  /** The access log's %R: wsgi-script where a WSGI route answers. */
  handler?: string | null;
};

/** Makes one request's response sink: the wire's WireResponse, or fetch-front.ts's. */
export type SinkFactory<P extends Peer> = (peer: P, isHead: boolean, http10: boolean, label: string) => EditableSink;

export interface App {
  dispatch(connection: Connection, head: ParsedHead, body: RequestBody): void;
  /** dispatch() for another front: its peer, its request body and its response sinks. */
  dispatchTo<P extends Peer>(peer: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void>;
  /** A response is over: the access logs; `response` what its writer knows of it (absent in process). */
  logAccess(connection: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number,
    response?: ResponseFacts, keepAlive?: boolean): void;
}

type WsgiMatch = Extract<Match, { kind: "wsgi" }>;

let requestCounter = 0;

export function createApp(context: AppContext): App {
  const { errorLog } = context;
  const requestIdPrefix = `${process.pid.toString(36)}-`;
  const wireSink: SinkFactory<Connection> = (connection, isHead, http10, label) =>
    new WireResponse(connection, isHead, http10, context.serverSoftware, errorLog, label);
  // --server-status counters (status/stats.ts): a few increments per request, nothing allocated.
  const status = context.status ?? null;
  const stats = status?.stats ?? null;
  const workerDone = stats ? (slot: WorkerSlot) => stats.workerDone(slot) : undefined;
  const authScripts = new AuthScripts(context.pool, context.queueTimeoutMs);

  async function dispatch<P extends Peer>(connection: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void> {
    context.onRequest?.();
    const http10 = head.protocol === "HTTP/1.0";
    const isHead = head.method === "HEAD";
    const sni = connection.serverNameIndication;
    if (sni !== undefined && refusedOverTls(connection, sni, head, makeSink, isHead, http10)) return;
    if (head.target === "*" && head.method === "OPTIONS") {
      // The server's own options (RFC 9110 9.3.7): Apache 2.4 answers 200 and lists nothing.
      return makeSink(connection, false, http10, "*").complete("200 OK\0Content-Length\x000", new Uint8Array(0));
    }
    let target = parseTarget(head.target);
    if (typeof target === "number") {
      const host = context.hosts.select(head.host);
      const response = sinkFor(makeSink, connection, head, host, isHead, http10, head.target);
      response.editHead = host.editHead; // Header always applies to these too
      return response.fail(target);
    }
    const requestHost = target.host ?? head.host;
    const host = context.hosts.select(requestHost);
    if (host.rewriter) {
      const answer = host.rewriter.apply(rewriteRequest(connection, head, target, host, requestHost, context.scheme));
      if (answer && "path" in answer) {
        target = { ...target, path: answer.path, query: answer.query, rewrittenFrom: target.path }; // [PT]
      } else if (answer) {
        const response = sinkFor(makeSink, connection, head, host, isHead, http10, target.raw);
        response.editHead = host.editHead;
        response.errorDocuments = host.errorDocumentsAt(target.path); // F, G
        return sendRedirect(response, answer, host.errorLog);
      }
    }
    // TRACE: the server's own answer, once a Redirect had its say (see site/trace.ts).
    if (head.method === "TRACE" && host.match(target.path)?.kind !== "redirect") {
      const response = sinkFor(makeSink, connection, head, host, false, http10, target.raw);
      response.editHead = host.editHead;
      response.errorDocuments = host.errorDocumentsAt(target.path);
      return answerTrace(head, body, response, host.vhost.traceEnable ?? "on");
    }
    // mod_status's <Location>: its handler takes the request before any route would.
    const statusBase = status ? host.statusBase(target.path) : null;
    let match = statusBase === null ? host.match(target.path) : null;
    if (match?.kind === "file" && host.wsgiHandlers) {
      // AddHandler or SetHandler wsgi-script: the file may be a script to run, never a file to send.
      const script = host.handlerScript(target.path, match);
      if (script && "status" in script) {
        const response = sinkFor(makeSink, connection, head, host, isHead, http10, script.script);
        response.errorDocuments = host.errorDocumentsAt(target.path, script.script);
        host.errorLog.error(`[client ${connection.peerAddress}:${connection.peerPort}] ${script.reason}: ${logPath(script.script)}`);
        return sendPage(response, script.status);
      }
      if (script) match = script;
    }
    if (match?.kind === "wsgi") {
      const relayed = connection.relayedRedirect ?? undefined; // in a daemon process: an ErrorDocument's script
      return runWsgi(connection, relayed?.head ?? head, body, target, host, requestHost, match, makeSink, relayed);
    }
    const response = sinkFor(makeSink, connection, head, host, isHead, http10, match?.kind === "file" ? match.file : target.raw);
    const base: UrlBase = { scheme: context.scheme, host: requestHost, serverName: host.serverName };
    if (!match) {
      // No route, but a <Location> may still refuse the path, redirect it or give it to mod_status (Apache checks access first).
      const settings = settingsFor(host.vhost, target.path);
      response.editHead = headEditor(settings.headers);
      response.errorDocuments = host.errorDocuments(settings);
      const gate = accessGate(settings.access, settings.auth);
      const accessScript = host.accessScriptIn(settings);
      let admission = admitRequest(gate, connection, head, target.path, response, host.errorLog, logItem(target.path),
        scriptsFor(gate, connection, head, target, host, requestHost, accessScript), accessScript);
      if (admission instanceof Promise) admission = await admission;
      if (!admission) return;
      if (statusBase !== null) return status!.serve(statusBase, head.method, target.path, target.query, response);
      const hit = settings.redirects?.length ? findRedirect(settings.redirects, target.path, target.query, base) : null;
      return hit ? sendRedirect(response, hit, host.errorLog) : sendMissing(response, host, head.method);
    }
    if (match.kind === "redirect") {
      response.editHead = host.editHead;
      response.errorDocuments = host.errorDocumentsAt(target.path); // Redirect gone
      return sendRedirect(response, redirectHit(match.found, target.query, base), host.errorLog);
    }
    response.errorDocuments = host.errorDocumentsAt(target.path, match.file);
    if (!(connection instanceof Connection) || !(response instanceof WireResponse)) {
      host.errorLog.error(`${logPath(match.file)}: static files are served to socket clients only, not in process (server.fetch()).`);
      return response.fail(500);
    }
    const authScripts = (gate: Gate | null, accessScript?: AuthScript | null) => scriptsFor(gate, connection, head, target, host, requestHost, accessScript);
    return serveFile({ connection, head, target, host, response, base, errorLog: host.errorLog, authScripts }, match.file, match.root, target.path);
  }

  /** mod_ssl's check of a TLS request's Host against the host its handshake chose (site/sni.ts); answered here when it fails. */
  function refusedOverTls<P extends Peer>(peer: P, sni: string | null, head: ParsedHead, makeSink: SinkFactory<P>, isHead: boolean, http10: boolean): boolean {
    const requestHost = targetAuthority(head.target) ?? head.host;
    const host = context.hosts.select(requestHost);
    const refusal = misdirection(sni, context.hosts, host, requestHost);
    if (!refusal) return false;
    host.errorLog[refusal.level](`[client ${peer.peerAddress}:${peer.peerPort}] ${refusal.message}`);
    const response = sinkOf(makeSink, peer, host, isHead, http10, head.target);
    response.editHead = host.editHead;
    response.fail(refusal.status, { notes: refusal.notes }, true); // refused before Apache reads another request on it
    return true;
  }

  /**
   * What a WSGIAuthUserScript or WSGIAuthGroupScript would run with, where the gate names one, or a
   * WSGIAccessScript (`accessScript`), which gets the SCRIPT_NAME and PATH_INFO of the WSGI route (`route`) taking the path.
   */
  function scriptsFor(gate: Gate | null, peer: Peer, head: ParsedHead, target: Target, host: HostRuntime, requestHost: string | null,
      accessScript?: AuthScript | null, route?: { scriptName: string; pathInfo: string }) {
    if (!accessScript && !gate?.auth?.userScript && !gate?.auth?.groupScript) return undefined;
    return { calls: authScripts, request: {
      head, path: target.path, route, query: target.query, peerAddress: peer.peerAddress, peerPort: peer.peerPort,
      localAddress: peer.localAddress ?? "", serverName: requestHost ? hostName(requestHost) : host.serverName,
      serverPort: (requestHost ? hostPort(requestHost) : null) ?? (context.scheme === "https" ? "443" : "80"), port: host.port, scheme: context.scheme,
      context: host.context,
    } };
  }

  /**
   * The sink for one of a host's answers. Where an ErrorDocument of the host names a local URL, an error
   * it answers goes to the WSGI script that serves that URL, if one does (error-redirect.ts).
   */
  function sinkFor<P extends Peer>(makeSink: SinkFactory<P>, peer: P, head: ParsedHead, host: HostRuntime, isHead: boolean,
      http10: boolean, label: string): EditableSink {
    const response = sinkOf(makeSink, peer, host, isHead, http10, label);
    if (host.localErrorDocuments) response.errorDetour = (status, detail) => toErrorScript(response, peer, head, host, makeSink, status, detail);
    return response;
  }

  /** The error `status` of `response` answered by the WSGI script its ErrorDocument names; false when there is none. */
  function toErrorScript<P extends Peer>(response: EditableSink, peer: P, head: ParsedHead, host: HostRuntime, makeSink: SinkFactory<P>,
      status: number, detail: PageDetail | undefined): boolean {
    const document = response.errorDocuments?.scriptDocument(status);
    const redirect = document ? errorRedirect(head, document, status, detail) : null;
    const match = redirect ? host.match(redirect.target.path) : null;
    if (!redirect || match?.kind !== "wsgi") return false;
    const requestHost = targetAuthority(head.target) ?? head.host;
    runWsgi(peer, redirect.head, NO_BODY, redirect.target, host, requestHost, match, makeSink, redirect)
      .catch((error: Error) => internalError(peer, `the ErrorDocument ${document} of ${head.method} ${head.target}`, error));
    return true;
  }

  /** `redirect`: the request is an ErrorDocument's for an error of another (error-redirect.ts). */
  async function runWsgi<P extends Peer>(connection: P, head: ParsedHead, body: BodySource, target: Target, host: HostRuntime,
    requestHost: string | null, match: WsgiMatch, makeSink: SinkFactory<P>, redirect?: ErrorRedirect): Promise<void> {
    const settings = match.settings;
    const started = stats ? performance.now() : 0;
    const routeIndex = stats ? context.statRoutes?.get(match.script) ?? -1 : -1;
    const response = redirect
      ? redirectedSink(makeSink, connection, host, head, match.script, redirect)
      : sinkFor(makeSink, connection, head, host, head.method === "HEAD", head.protocol === "HTTP/1.0", match.script);
    response.editHead = settings.editHead;
    response.errorDocuments = settings.errorDocuments;
    response.errorLog = host.errorLog; // what it says of the app's response (a wrong Content-Length)
    response.handler = "wsgi-script";
    let admission = admitRequest(settings.gate, connection, head, target.path, response, host.errorLog, logPath(match.script),
      scriptsFor(settings.gate, connection, head, target, host, requestHost, settings.accessScript, match), settings.accessScript);
    if (admission instanceof Promise) admission = await admission; // only where credentials are checked: no tick otherwise
    if (!admission) return;
    if (settings.redirects) {
      const hit = findRedirect(settings.redirects, target.path, target.query, { scheme: context.scheme, host: requestHost, serverName: host.serverName });
      if (hit) return sendRedirect(response, hit, host.errorLog);
    }
    if (head.chunked && !settings.chunkedRequest) {
      // WSGIChunkedRequest Off: mod_wsgi's HTTP_LENGTH_REQUIRED.
      host.errorLog.error(`Unable to process WSGI request for '${logPath(match.script)}': chunked transfer encoding is not enabled (WSGIChunkedRequest Off).`);
      response.fail(411, { method: head.method });
      return stats?.routed(routeIndex, 411, started, 0, 0);
    }
    const limit = settings.limitRequestBody;
    if (limit && head.contentLength > limit) {
      host.errorLog.error(`Requested content-length of ${head.contentLength} is larger than the configured limit of ${limit}`);
      response.fail(413, { method: head.method });
      return stats?.routed(routeIndex, 413, started, 0, 0);
    }
    body.limitTo?.(limit); // a body of undeclared length is held to the route's limit as it arrives
    if (settings.processGroup !== null && context.daemons) {
      // Daemon mode: one of the group's processes runs it (mod_wsgi's WSGIProcessGroup).
      await context.daemons.forward(connection, head, body, match.script, settings.processGroup, response, host.errorLog, admission.user, redirect);
      return stats?.routed(routeIndex, response.status, started, 0, 0);
    }
    const asked = stats ? performance.now() : 0;
    const pool = context.pool!; // there whenever a route runs in this process (daemon/daemon-config.ts)
    const slot = await pool.acquire(context.queueTimeoutMs);
    if (slot instanceof Refusal) {
      host.errorLog.error(`${slot.reason} for WSGI request to '${logPath(match.script)}': ${slot.detail}.`);
      response.fail(503);
      return stats?.routed(routeIndex, 503, started, 0, 0);
    }
    const acquired = stats ? performance.now() : 0;
    let remoteAddr = connection.peerAddress;
    let scheme: string = context.scheme;
    let hostHeader = requestHost;
    // An absolute-form target's authority is the Host (RFC 9112 3.2.2), HTTP_HOST too, as in Apache.
    let headers = target.host !== null && target.host !== head.host ? withHost(head.headers, target.host) : head.headers;
    let env = environVariables(settings, connection, head, target, requestHost, host, context.scheme);
    if (redirect) env = [...env, ...redirect.env];
    // mod_wsgi's REMOTE_USER and AUTH_TYPE (Apache's common variables, over SetEnv's): who Basic authentication let in.
    if (admission.user !== null) env = [...env, "REMOTE_USER", admission.user, "AUTH_TYPE", settings.gate?.auth?.type ?? "Basic"];
    // mod_ssl's SSL_TLS_SNI, set whatever SSLOptions say (mod_wsgi drops only HTTPS), where mod_ssl is on.
    const sni = connection.serverNameIndication ?? connection.relayedServerName;
    if (sni && host.sslEngine) env = [...env, "SSL_TLS_SNI", sni];
    // RequestHeader, before mod_wsgi reads them (%t, %D and %{VAR}e in their values read these).
    if (settings.editRequest) headers = settings.editRequest(headers, { started: response.started ?? nowMicros(), env });
    let forwardedPort: string | null = null;
    let serverName = hostHeader ? hostName(hostHeader) : host.serverName;
    let mountPoint: string | null = null;
    if (settings.proxies) {
      const forwarded = settings.proxies.resolve(remoteAddr, scheme, headers);
      ({ remoteAddr, scheme, headers } = forwarded);
      if (forwarded.host) {
        hostHeader = forwarded.host;
        headers = withHost(headers, forwarded.host);
        serverName = hostName(forwarded.host);
      }
      forwardedPort = forwarded.port;
      serverName = forwarded.serverName ?? serverName;
      mountPoint = forwarded.scriptName;
    }
    // Apache's ap_get_server_port (UseCanonicalName Off): the port Host names, else the scheme's.
    const serverPort = forwardedPort ?? (hostHeader ? hostPort(hostHeader) : null) ?? (scheme === "https" ? "443" : "80");
    const headLength = writeRequestHead(slot.channel, {
      group: settings.group,
      script: match.script,
      callable: settings.callable,
      reload: settings.reload,
      passAuthorization: settings.passAuthorization,
      contextId: settings.context.id,
      scriptName: match.scriptName,
      pathInfo: match.pathInfo,
      query: target.query,
      method: head.method,
      protocol: head.protocol,
      requestUri: redirect ? redirect.requestUri : head.target, // as sent: an absolute-form target whole, as Apache's r->unparsed_uri
      remoteAddr,
      remotePort: String(connection.peerPort),
      serverName,
      serverPort,
      serverAddr: serverAddress(connection),
      pathTranslated: match.pathInfo ? host.translatePath(match.pathInfo) : "",
      scheme,
      bodyLength: head.chunked ? "chunked" : head.contentLength >= 0 ? String(head.contentLength) : "",
      requestId: requestIdPrefix + (++requestCounter).toString(36),
      mountPoint,
      signature: settings.signature === "off" ? "" : serverSignature(settings.signature, context.serverSoftware, serverName, serverPort, host.vhost.serverAdmin),
      context: settings.context.text,
      env,
      headers,
    });
    if (headLength < 0) {
      pool.release(slot);
      response.fail(431);
      return stats?.routed(routeIndex, 431, started, asked, acquired);
    }
    stats?.running(slot, routeIndex);
    await runExchange(pool, slot, headLength, body, response, head.method, workerDone);
    stats?.routed(routeIndex, response.status, started, asked, acquired);
  }

  function logAccess(connection: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number,
      response?: ResponseFacts, keepAlive = false): void {
    stats?.response(status, bytes);
    context.onAccess?.(connection, head, requestLine, status, bytes);
    // The log of the host the request reached (CustomLog per <VirtualHost>); a request refused before
    // its head was read, the default host's.
    const host = context.hosts.select(head ? targetAuthority(head.target) ?? head.host : null);
    if (host.formattedLogs) return writeFormatted(host, host.formattedLogs, connection, head, requestLine, status, bytes, response, keepAlive);
    const log = host.accessLog === undefined ? context.accessLog : host.accessLog;
    if (!log) return;
    log.write({
      remoteAddr: connection.peerAddress,
      user: head ? remoteUsers.get(head) : null,
      requestLine,
      status,
      bytes: bytes + (response?.headBytes ?? 0),
      referer: headerValue(head, "referer"),
      userAgent: headerValue(head, "user-agent"),
    }, response ? response.started / 1000 : Date.now());
  }

  /** Every CustomLog of the host, each in its format, as its env= condition says (one record for all). */
  function writeFormatted(host: HostRuntime, logs: FormattedLog[], connection: Peer, head: ParsedHead | null, requestLine: string,
      status: number, bytes: number, response: ResponseFacts | undefined, keepAlive: boolean): void {
    const record = new AccessRecord(host, connection, head, requestLine, status, bytes, response, keepAlive,
      head ? remoteUsers.get(head) : null, context.scheme);
    for (const { log, format, condition } of logs) {
      if (condition && (envValue(record.env(), condition.variable.toLowerCase()) !== null) !== condition.set) continue;
      log.writeLine(formatLine(format, record));
    }
  }

  function dispatchTo<P extends Peer>(peer: P, head: ParsedHead, body: BodySource, makeSink: SinkFactory<P>): Promise<void> {
    return dispatch(peer, head, body, makeSink).catch((error: Error) => internalError(peer, `${head.method} ${head.target}`, error));
  }

  /** A bug while serving `what`: logged, and the client sees an incomplete response. */
  function internalError(peer: Peer, what: string, error: Error): void {
    errorLog.error(`Internal error serving ${what}: ${error.stack ?? error}`);
    peer.cut();
    peer.finished(500, 0, false);
  }

  return {
    dispatch(connection, head, body) {
      void dispatchTo(connection, head, body, wireSink);
    },
    dispatchTo,
    logAccess,
  };
}

/** What a virtual host's RewriteRules and RewriteConds read from this request. */
function rewriteRequest(peer: Peer, head: ParsedHead, target: Target, host: HostRuntime, requestHost: string | null, scheme: "http" | "https"): RewriteRequest {
  return {
    path: target.path,
    query: target.query,
    method: head.method,
    protocol: head.protocol,
    requestLine: `${head.method} ${head.target} ${head.protocol}`,
    serverName: requestHost ? hostName(requestHost) : host.serverName,
    serverPort: (requestHost ? hostPort(requestHost) : null) ?? (scheme === "https" ? "443" : "80"),
    remoteAddr: peer.peerAddress,
    remotePort: String(peer.peerPort),
    documentRoot: host.vhost.documentRoot ?? "",
    header(name: string): string {
      const wanted = name.toLowerCase();
      if (wanted === "host") return requestHost ?? ""; // an absolute-form target's authority first, as in environ
      const values: string[] = [];
      for (let i = 0; i + 1 < head.headers.length; i += 2) if (head.headers[i]!.toLowerCase() === wanted) values.push(head.headers[i + 1]!);
      return values.join(", ");
    },
    base: { scheme, host: requestHost, serverName: host.serverName },
  };
}

/**
 * The configuration's environ variables for a request, in the order Apache's phases set them:
 * SetEnvIf's, then mod_rewrite's SCRIPT_URL and SCRIPT_URI with RewriteEngine On (the path before any
 * rule, and that as a URL from Host), then SetEnv's, which win. Without the first two, SetEnv's as they are.
 */
/**
 * The sink of an ErrorDocument's script: an error of its own gives the first error's page, saying so
 * (ap_die's recursive error), and no other ErrorDocument.
 */
function redirectedSink<P extends Peer>(makeSink: SinkFactory<P>, peer: P, host: HostRuntime, head: ParsedHead, label: string,
    redirect: ErrorRedirect): EditableSink {
  const response = sinkOf(makeSink, peer, host, redirect.isHead, head.protocol === "HTTP/1.0", label);
  response.closes = redirect.closes;
  response.errorDetour = (status) => {
    response.errorDetour = null;
    response.errorDocuments = null;
    response.fail(redirect.status, { ...redirect.detail, additionally: status });
    return true;
  };
  return response;
}

/** A response sink for one of a host's answers: its ServerAdmin is what a 500 page names. */
function sinkOf<P extends Peer>(makeSink: SinkFactory<P>, peer: P, host: HostRuntime, isHead: boolean, http10: boolean, label: string): EditableSink {
  const response = makeSink(peer, isHead, http10, label);
  response.serverAdmin = host.vhost.serverAdmin;
  return response;
}

function environVariables(settings: RouteSettings, peer: Peer, head: ParsedHead, target: Target, requestHost: string | null,
    host: HostRuntime, scheme: "http" | "https"): string[] {
  if (!settings.envIf && !host.vhost.rewriteEngine) return settings.env;
  let fixed = settings.env;
  if (host.vhost.rewriteEngine) {
    const path = target.rewrittenFrom ?? target.path;
    const name = requestHost ? hostName(requestHost) : host.serverName;
    const port = requestHost ? hostPort(requestHost) : null;
    const standard = port === null || port === (scheme === "https" ? "443" : "80");
    fixed = ["SCRIPT_URL", path, "SCRIPT_URI", `${scheme}://${name}${standard ? "" : `:${port}`}${path}`, ...fixed];
  }
  return settings.envIf ? settings.envIf(envRequest(peer, head, target), fixed) : fixed;
}

/**
 * SERVER_ADDR: the local address the connection came in on, an IPv4 one without the "::ffff:" an IPv6
 * socket shows it with ("" in process, where there is none).
 */
function serverAddress(peer: Peer): string {
  const address = peer.localAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The headers with Host replaced (X-Forwarded-Host from a trusted proxy becomes HTTP_HOST, as in mod_wsgi). */
function withHost(headers: string[], host: string): string[] {
  const out = headers.filter((_, i) => i % 2 === 0 ? headers[i]!.toLowerCase() !== "host" : headers[i - 1]!.toLowerCase() !== "host");
  out.push("Host", host);
  return out;
}
