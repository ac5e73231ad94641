// createServer()'s server: the CLI's pieces (engine.ts's worker pool, app.ts's dispatch, the wire
// listener) put together inside the host's process, with a second front, fetch(), that needs no
// socket. One Python per process: servers created one after another (or side by side) share it.
import { openSync } from "node:fs";
import type { ServerConfig } from "../config.ts";
import { awaitRequests, startEngine, type Engine } from "../engine.ts";
import { findPython, PythonNotFound } from "../ffi/find-python.ts";
import { startPython, type PythonRuntime } from "../ffi/runtime.ts";
import { applicationGroupName } from "../http/aliases.ts";
import { createApp, type App, type AppContext, type Peer } from "../http/app.ts";
import { answerFetch } from "../http/fetch-front.ts";
import { HostRuntime } from "../http/site/host-runtime.ts";
import { HostTable } from "../http/site/host-table.ts";
import { headerValue, type ParsedHead } from "../http/wire/head-parser.ts";
import { wireLimits } from "../http/wire/limits.ts";
import { WireServer } from "../http/wire/wire-server.ts";
import { AccessLog } from "../log/access-log.ts";
import { ErrorLog } from "../log/error-log.ts";
import { levelNumber } from "../log/levels.ts";
import type { StatusReport } from "../status/figures.ts";
import { routeTable, type RouteTable } from "../status/route-table.ts";
import { createServerStatus, type StatusHandler } from "../status/server-status.ts";
import { SERVER_SOFTWARE } from "../version.ts";
import { ConfigurationError, ListenError, PythonNotFoundError, ServerClosedError } from "./errors.ts";
import { LogPipe } from "./log-pipe.ts";
import { preload, type Load } from "./preload.ts";
import { bindForNode } from "./runtime.ts";
import type { ListenOptions, RequestEntry, ServerOptions, WsgiServer } from "./types.ts";

/** %{RESOURCE} and %{SERVER} group names carry a port; a library server's is chosen late (or never: fetch()), so they are named as on port 80. */
const GROUP_PORT = 80;

let sharedPython: PythonRuntime | null = null;

/** The process's one embedded Python: started by the first server, reused by the next. */
function python(config: ServerConfig): PythonRuntime {
  let install;
  try {
    install = findPython({ python: config.python, pythonHome: config.pythonHome });
  } catch (error) {
    if (!(error instanceof PythonNotFound)) throw error;
    throw new PythonNotFoundError(`${error.message}\nIn createServer(), give the interpreter as { python: "/path/to/python3" } ` +
      "(or a virtualenv as { pythonHome }), or set WSGI_BIN_PYTHON.");
  }
  if (sharedPython) {
    if (sharedPython.install.library !== install.library) {
      throw new ConfigurationError(`this process already embeds ${sharedPython.install.library} (Python ${sharedPython.version}); ` +
        `a process can embed one Python only, not also ${install.library}: give every server the same python option.`);
    }
    return sharedPython;
  }
  sharedPython = startPython(install);
  return sharedPython;
}

function openErrorLog(options: ServerOptions, level: number): { log: ErrorLog; pipe: LogPipe | null } {
  if (options.onLog) {
    const pipe = new LogPipe(options.onLog);
    return { log: new ErrorLog(pipe.fd, level), pipe };
  }
  return { log: new ErrorLog(options.errorLog ? openSync(options.errorLog, "a") : 2, level), pipe: null };
}

export class EmbeddedServer implements WsgiServer {
  readonly ready: Promise<void>;
  readonly python: { version: string; library: string };
  url: string | null = null;
  private readonly config: ServerConfig;
  private readonly errorLog: ErrorLog;
  private readonly logPipe: LogPipe | null;
  private readonly accessLog: AccessLog | null;
  private readonly engine: Engine;
  private readonly statusPage: StatusHandler | null;
  private readonly statusTable: RouteTable;
  private readonly fetchApp: App;
  private wire: WireServer | null = null;
  private inFlight = 0;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: ServerOptions, config: ServerConfig) {
    this.config = config;
    const { log, pipe } = openErrorLog(options, levelNumber(config.logLevel));
    this.errorLog = log;
    this.logPipe = pipe;
    const runtime = python(config);
    this.python = { version: runtime.version, library: runtime.install.library };
    this.accessLog = options.accessLog ? new AccessLog(options.accessLog === "-" ? 1 : openSync(options.accessLog, "a")) : null;
    log.notice(`Initializing Python ${runtime.version} (${runtime.install.library}) for an embedded ${SERVER_SOFTWARE}.`);
    this.engine = startEngine(config, runtime, log);
    const routes = this.routes();
    this.statusTable = routeTable([{ hosts: config.listeners[0]!.hosts, port: GROUP_PORT }]);
    this.statusPage = createServerStatus(config.serverStatus, {
      routes: this.statusTable.routes,
      pool: this.engine.pool, slot: null, supervised: false,
      software: SERVER_SOFTWARE, python: runtime.version, errorLog: log,
      activeRequests: () => this.inFlight + (this.wire?.active ?? 0),
    });
    this.fetchApp = createApp(this.appContext("fetch"));

    const loads: Load[] = [
      ...config.importScripts.map((s) => ({ script: s.script, group: applicationGroupName(s, config.serverName, GROUP_PORT) })),
      ...(options.preload === false ? [] : routes.map(({ url, script, group }) => ({ script, group, url }))),
    ];
    this.ready = preload(this.engine.pool, loads, log);
    this.ready.catch(() => {}); // a host that never awaits `ready` must not get an unhandled rejection
  }

  /** The WSGI routes of the one host the options describe, with their application groups. */
  private routes(): { url: string; script: string; group: string }[] {
    return this.config.listeners[0]!.hosts.flatMap((host) => host.routes.map((r) => ({
      url: r.route.url,
      script: r.route.target,
      group: applicationGroupName({ applicationGroup: r.applicationGroup, url: r.route.url }, host.serverName, GROUP_PORT),
    })));
  }

  /** Both fronts (fetch and a listener) name groups with GROUP_PORT, so they share the interpreters. */
  private appContext(via: RequestEntry["via"]): AppContext {
    const config = this.config;
    const onRequest = this.options.onRequest;
    const reach = { port: GROUP_PORT, scheme: "http" as const };
    return {
      hosts: new HostTable(config.listeners[0]!.hosts.map((host) => new HostRuntime(host, reach, this.errorLog))),
      pool: this.engine.pool,
      statRoutes: this.statusTable.index,
      scheme: "http",
      serverSoftware: SERVER_SOFTWARE,
      errorLog: this.errorLog,
      accessLog: this.accessLog,
      queueTimeoutMs: config.queueTimeout * 1000,
      status: this.statusPage,
      onAccess: onRequest
        ? (peer: Peer, head: ParsedHead | null, requestLine: string, status: number, bytes: number) => {
          try {
            onRequest({
              via, remoteAddress: peer.peerAddress, method: head?.method ?? "-", target: head?.target ?? requestLine, status, bytes,
              referer: headerValue(head, "referer"), userAgent: headerValue(head, "user-agent"), time: new Date(),
            });
          } catch (error) {
            this.errorLog.error(`onRequest threw: ${(error as Error).stack ?? error}`);
          }
        }
        : undefined,
    };
  }

  async listen(options: ListenOptions = {}): Promise<string> {
    if (this.closing) throw new ServerClosedError("the server is closed: create a new one with createServer()");
    if (this.wire) throw new ListenError(`already listening on ${this.url}: a server listens once`);
    await this.ready;
    const host = options.host ?? "127.0.0.1";
    const requested = options.port ?? 0;
    let app: App | null = null;
    const config = this.config;
    try {
      const port = await bindForNode(host, requested);
      this.wire = new WireServer({
        host, port, reusePort: false,
        limits: wireLimits(config),
        serverSoftware: SERVER_SOFTWARE,
        errorLog: this.errorLog,
        dispatch: (connection, head, body) => app!.dispatch(connection, head, body),
        logAccess: (connection, head, line, status, bytes, response, keepAlive) => app?.logAccess(connection, head, line, status, bytes, response, keepAlive),
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new ListenError(`could not listen on ${host}:${requested}: ${(error as Error).message}` +
        (code === "EADDRINUSE" ? " (the port is in use: choose another, or port 0 for a free one)" : ""), { cause: error });
    }
    app = createApp(this.appContext("socket"));
    const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
    this.url = `http://${shown}:${this.wire.port}/`;
    this.errorLog.notice(`${SERVER_SOFTWARE} (Python ${this.python.version}) listening on http://${host.includes(":") ? `[${host}]` : host}:${this.wire.port}/ with ${config.threads} threads.`);
    return this.url;
  }

  async fetch(request: Request, info: { remoteAddress?: string } = {}): Promise<Response> {
    if (this.closing) throw new ServerClosedError("the server is closed: fetch() after close() is answered by no one");
    if (!(request instanceof Request)) throw new TypeError("server.fetch() wants a Request (new Request(url, init))");
    this.inFlight++;
    try {
      const response = await answerFetch(this.fetchApp, request, {
        limitRequestBody: this.config.limitRequestBody, remoteAddress: info.remoteAddress, errorLog: this.errorLog,
      });
      return response;
    } finally {
      this.inFlight--;
    }
  }

  async status(): Promise<StatusReport | null> {
    return this.statusPage ? this.statusPage.report() : null;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const wire = this.wire;
    const pool = this.engine.pool;
    wire?.stopAccepting();
    const timeoutMs = this.config.gracefulTimeout * 1000;
    const deadline = Date.now() + timeoutMs;
    await this.ready.catch(() => {});
    await awaitRequests(() => (wire ? wire.active + wire.closing : 0), pool, timeoutMs, this.errorLog, deadline);
    wire?.stop();
    this.engine.stop();
    this.errorLog.notice(`Embedded ${SERVER_SOFTWARE} closed.`);
    await this.logPipe?.close();
  }
}

