// Command-line flags. Each names the Apache/mod_wsgi directive it stands for in --help and the README.
// Parsing only reads them (a flag not given stays undefined); src/config/from-flags.ts turns them
// into the site model, alone or over a --config file.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULTS, type ImportScript } from "../config.ts";
import { PYTHON_NAME } from "../config/apache/context.ts";
import { pemFileProblem } from "../config/apache/directives-ssl.ts";
import { DAEMON_OPTIONS, daemonSettings, IMPLEMENTED_DAEMON_OPTIONS } from "../config/daemon-options.ts";
import { lineProblem, statusLines, trustLines, type DirectiveLine } from "../config/flag-directives.ts";
import type { ProcessSettings } from "../config/site.ts";
import { wholeNumber } from "../config/whole-number.ts";
import { WIRE_DEFAULTS, type ConnectionLimits } from "../http/wire/limits.ts";
import { levelNumber } from "../log/levels.ts";
import { SERVING_DIRECTIVES, SITE_FLAGS, SITE_FLAGS_HELP, siteLines } from "./site-flags.ts";
import { UsageError } from "./usage-error.ts";

export { UsageError } from "./usage-error.ts";

/** --alias URL=FILE[,OPTION=VALUE...]: options not given stay undefined (the flag defaults apply). */
export interface AliasFlag {
  url: string;
  script: string;
  applicationGroup?: string;
  callableObject?: string;
  passAuthorization?: boolean;
  /** process-group=: a --daemon-process name; "%{GLOBAL}" is embedded. */
  processGroup?: string;
  /** parallel-interpreters=K: the alias's application group as K interpreters, each with its own GIL (wsgi-bin's own). */
  parallelInterpreters?: number;
}

/** --daemon-process NAME[,OPTION=VALUE...]: a WSGIDaemonProcess. */
export interface DaemonFlag {
  name: string;
  /** The options as written. */
  options: Record<string, string>;
  settings: ProcessSettings;
}

/** The flags as given; undefined (or empty) when absent. */
/** The connection limits are in ConnectionLimits (http/wire/limits.ts), each optional here. */
export interface Flags extends Partial<ConnectionLimits> {
  config?: string;
  strict: boolean;
  checkConfig: boolean;
  /** -D NAME, for <IfDefine>. */
  defines: string[];
  aliases: AliasFlag[];
  host?: string;
  port?: number;
  threads?: number;
  python?: string;
  pythonHome?: string;
  pythonPath: string[];
  noReload: boolean;
  serverName?: string;
  errorLog?: string;
  logLevel?: string;
  accessLog?: string;
  /** --access-log-format: a format string or a nickname (combined, common, vhost_combined, referer, agent). */
  accessLogFormat?: string;
  limitRequestBody?: number;
  processes?: number;
  gracefulTimeout?: number;
  requestTimeout?: number;
  maximumRequests?: number;
  restartInterval?: number;
  queueTimeout?: number;
  importScripts: ImportScript[];
  applicationGroup?: string;
  callableObject?: string;
  passAuthorization: boolean;
  /** --parallel-interpreters K: the default for the aliases' parallel-interpreters=. */
  parallelInterpreters?: number;
  /** --trust-proxy: WSGITrustedProxies. */
  trustedProxies: string[];
  /** --trust-proxy-header: WSGITrustedProxyHeaders (none given: X-Forwarded-For, -Proto, -Host, -Port). */
  trustedProxyHeaders: string[];
  /** The flags for one host's other routes and settings (site-flags.ts), as their directives, in the order given. */
  directives: DirectiveLine[];
  queueLimit?: number;
  deadlockTimeout?: number;
  user?: string;
  group?: string;
  /** --server-status [PATH]: the status page's path; undefined when off. */
  serverStatus?: string;
  /** --server-status-allow, as given (empty: the default, loopback). */
  serverStatusAllow: string[];
  /** --https-port with its certificate: a second listener, speaking TLS. */
  httpsPort?: number;
  sslCertificateFile?: string;
  sslCertificateKeyFile?: string;
  sslCertificateChainFile?: string;
  daemons: DaemonFlag[];
}

export type Command = { kind: "serve"; flags: Flags } | { kind: "help" } | { kind: "version" };

export const HELP = `Usage: wsgi-bin [options] [SCRIPT.wsgi]
Serve Python WSGI scripts from an embedded CPython, as Apache's mod_wsgi does in embedded mode.

  SCRIPT.wsgi                    shorthand for --alias /=SCRIPT.wsgi
  --config FILE                  read an Apache configuration file (httpd -f): Listen, <VirtualHost>,
                                 WSGIScriptAlias, WSGIDaemonProcess... (see the README); the flags below
                                 that describe the process override it
  -D NAME                        define NAME for <IfDefine NAME> (httpd -D); repeatable
  --check-config                 print the effective site (listeners, virtual hosts, routes in match
                                 order with their groups, static mappings) and exit (httpd -S)
  --strict                       make every configuration warning (a directive wsgi-bin does not
                                 implement, or one it does not serve yet) an error
  --alias URL=FILE[,OPTION=VALUE...]
                                 mount a WSGI script at URL (WSGIScriptAlias); repeatable, the first
                                 declared alias covering a path wins. OPTIONs:
                                   application-group=NAME  %{RESOURCE} %{SERVER} %{GLOBAL} or a name
                                   callable-object=NAME    the callable to call (default application)
                                   pass-authorization=on|off
                                   process-group=NAME      run it in that --daemon-process group
                                                           (WSGIProcessGroup; default %{GLOBAL}: embedded)
                                   parallel-interpreters=K  this alias's group as K interpreters (below)
  --daemon-process NAME[,OPTION=VALUE...]
                                 a daemon process group (WSGIDaemonProcess): its own processes, each
                                 with its own Python, serving the aliases given process-group=NAME;
                                 repeatable. OPTIONs (defaults: mod_wsgi's):
                                   processes=N threads=N (15) python=PATH python-home=DIR
                                   python-path=DIR[:DIR] home=DIR display-name=NAME|%{GROUP}
                                   user=NAME|#UID group=NAME|#GID (when started as root)
                                   maximum-requests=N restart-interval=S request-timeout=S
                                   queue-timeout=S graceful-timeout=S connect-timeout=S (15)
                                   deadlock-timeout=S (default 0: off; mod_wsgi's is 300)
                                   listen-backlog=N (${DEFAULTS.daemonListenBacklog}: requests that may wait for a
                                   thread, per process; 503 beyond)
  --import-script FILE,application-group=NAME[,process-group=NAME]
                                 load FILE into that application group's interpreter when a process
                                 (of that daemon group; default embedded) starts (WSGIImportScript);
                                 NAME is %{GLOBAL}, %{SERVER} or a name; repeatable
  --host ADDR                    address to listen on (default ${DEFAULTS.host})
  --port N                       port to listen on (default ${DEFAULTS.port}; 0 picks a free one)
  --https-port N                 also listen on port N with TLS, serving the same routes (Listen N https
                                 + SSLEngine on; 0 picks a free one); needs the two flags below
  --ssl-certificate-file FILE    the server's certificate, PEM (SSLCertificateFile)
  --ssl-certificate-key-file FILE
                                 its private key, PEM, unencrypted (SSLCertificateKeyFile)
  --ssl-certificate-chain-file FILE
                                 intermediate certificates sent after it, PEM (SSLCertificateChainFile)
  --threads N                    worker threads running Python, per process (default ${DEFAULTS.threads}); this
                                 and the process flags below are the front processes' (embedded
                                 group's): a --daemon-process group has its own options
  --parallel-interpreters K      run each application group as K sub-interpreters, each with its own GIL
                                 (Python 3.12+), requests spread over them: one process uses K cores;
                                 C extensions with single-phase init refuse to load there (default ${DEFAULTS.parallelInterpreters}:
                                 one interpreter per group, all sharing the main GIL); not for %{GLOBAL};
                                 --alias routes only (no directive: wsgi-bin's own)
  --request-timeout S            raise RequestTimeout in an app that has run S seconds for one request:
                                 504, or a cut connection once the response started (default 0: off)
  --deadlock-timeout S           replace a process whose Python GIL could not be taken for S seconds
                                 (a C call keeping it), logging "deadlock detected" (implies the
                                 supervisor; default 0: off; a daemon group has deadlock-timeout=)
  --processes N                  processes serving the port (SO_REUSEPORT) under a supervisor that
                                 replaces any that die (default ${DEFAULTS.processes}: one process, no supervisor)
  --graceful-timeout S           on SIGTERM/SIGINT/SIGHUP, seconds requests in flight get to finish
                                 (default ${DEFAULTS.gracefulTimeout})
  --maximum-requests N           replace a process after N requests, its successor up first (default off)
  --restart-interval S           replace a process after S seconds, its successor up first (default off)
  --queue-timeout S              answer 503 to a request that waited S seconds for a free thread
                                 (default off)
  --queue-limit N                at most N requests wait for a free thread, per process; more are
                                 answered 503 at once (ListenBacklog; default ${DEFAULTS.queueLimit}; a daemon
                                 group has listen-backlog=)
  --python PATH                  python3 interpreter or libpython .so to embed
                                 (default: $WSGI_BIN_PYTHON, else python3 on PATH)
  --python-home DIR              a virtualenv or Python prefix to use (WSGIPythonHome)
  --python-path DIR              add DIR to sys.path of every interpreter (WSGIPythonPath); repeatable
  --application-group NAME       default application group (WSGIApplicationGroup, default %{RESOURCE})
  --callable-object NAME         default callable name (WSGICallableObject, default application)
  --pass-authorization           pass the Authorization header to apps (WSGIPassAuthorization On)
  --no-reload                    do not reload scripts when their file changes (WSGIScriptReloading Off)
  --server-name NAME             the server's name (ServerName; default: this machine's hostname)
  --error-log FILE               error log file (ErrorLog; default stderr)
  --log-level LEVEL              emerg alert crit error warn notice info debug (LogLevel; default ${DEFAULTS.logLevel})
  --access-log FILE|-            access log (CustomLog; - is stdout; default off)
  --access-log-format FORMAT     --access-log's format: a LogFormat string, or combined, common,
                                 vhost_combined, referer, agent (default combined)
  --limit-request-body BYTES     largest request body accepted, 0 for no limit (LimitRequestBody;
                                 default ${DEFAULTS.limitRequestBody}): larger ones get 413
  --trust-proxy ADDR[/BITS]      believe X-Forwarded-For/-Proto/-Host/-Port (or the --trust-proxy-header
                                 ones) from this proxy address or range (WSGITrustedProxies); from
                                 other peers they are removed; repeatable
  --trust-proxy-header HEADER    the proxy header to believe (WSGITrustedProxyHeaders): X-Forwarded-For,
                                 X-Client-IP, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host,
                                 X-Forwarded-Port, X-Forwarded-Server, X-Script-Name...; repeatable
                                 (default with --trust-proxy: X-Forwarded-For/-Proto/-Host/-Port;
                                 without --trust-proxy every client is believed, as in mod_wsgi)
  --limit-request-line BYTES     longest request line (LimitRequestLine; default ${WIRE_DEFAULTS.limitRequestLine}): 414 beyond
  --limit-request-fields N       most request header fields (LimitRequestFields; default ${WIRE_DEFAULTS.limitRequestFields}): 400 beyond
  --limit-request-field-size BYTES
                                 longest request header line (LimitRequestFieldSize; default
                                 ${WIRE_DEFAULTS.limitRequestFieldSize}): 400 beyond
  --timeout S                    the most seconds between two reads of a request body or two writes
                                 of a response (Timeout; default ${WIRE_DEFAULTS.timeout})
  --request-read-timeout S       seconds to receive a whole request head (RequestReadTimeout header=;
                                 default ${WIRE_DEFAULTS.requestReadTimeout}): 408 after
  --keep-alive-timeout S         seconds an idle connection waits for its next request
                                 (KeepAliveTimeout; default ${WIRE_DEFAULTS.keepAliveTimeout})
  --max-keep-alive-requests N    requests per connection, 0 for unlimited (MaxKeepAliveRequests;
                                 default ${WIRE_DEFAULTS.maxKeepAliveRequests})
  --max-connections N            open connections per process, 0 for unlimited; beyond it 503
                                 (like MaxRequestWorkers; default ${WIRE_DEFAULTS.maxConnections})
  --user NAME                    started as root: bind the port, then run as user NAME (or #UID)
                                 before Python starts (User); root without it runs the app as root
  --group NAME                   with --user: the group (or #GID) to run as (Group; default: the
                                 user's primary group)
  --server-status [PATH]         serve a status page at PATH and below (default ${DEFAULTS.serverStatusPath}), answered
                                 before the routes: HTML refreshing itself, PATH?json, PATH/metrics
                                 (Prometheus); every process's figures (mod_status: <Location PATH>
                                 SetHandler server-status; default off)
  --server-status-allow ADDR[/BITS]
                                 client addresses that may see it; others get 403; repeatable
                                 (Require ip in its <Location>; default ${DEFAULTS.statusAllow.join(" and ")})
${SITE_FLAGS_HELP}
  --help, -h                     this text
  --version, -v                  the version
`;

const VALUE_FLAGS = new Set([
  "alias", "host", "port", "threads", "python", "python-home", "python-path", "application-group",
  "callable-object", "server-name", "error-log", "log-level", "access-log", "access-log-format", "limit-request-body",
  "processes", "graceful-timeout", "maximum-requests", "restart-interval", "queue-timeout", "import-script",
  "request-timeout", "config", "limit-request-line", "limit-request-fields", "limit-request-field-size", "timeout",
  "request-read-timeout", "keep-alive-timeout", "max-keep-alive-requests", "max-connections", "trust-proxy",
  "queue-limit", "deadlock-timeout", "user", "group", "server-status-allow", "daemon-process", "trust-proxy-header",
  "https-port", "ssl-certificate-file", "ssl-certificate-key-file", "ssl-certificate-chain-file",
  "parallel-interpreters",
]);

const SWITCHES = new Set(["pass-authorization", "no-reload", "help", "version", "strict", "check-config"]);

export function parseArgs(argv: string[], cwd = process.cwd()): Command {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const positional: string[] = [];
  const defines: string[] = [];
  const siteFlags: { name: string; value: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") return { kind: "help" };
    if (arg === "-v") return { kind: "version" };
    if (arg.startsWith("-D")) {
      // As httpd: -D NAME or -DNAME.
      const name = arg === "-D" ? argv[++i] : arg.slice(2);
      if (!name || name.startsWith("-")) throw new UsageError("option '-D' needs a parameter name");
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UsageError(`-D: '${name}' is not a parameter name (letters, digits, _ . -)`);
      defines.push(name);
      continue;
    }
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option '${arg}'`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (name === "server-status") {
      // An optional value: --server-status=PATH, or a next argument that is a URL path (it starts with
      // "/" and names no existing file: a script argument right after it stays a script).
      const next = argv[i + 1];
      const value = eq >= 0 ? arg.slice(eq + 1) : next?.startsWith("/") && !existsSync(next) ? argv[++i]! : DEFAULTS.serverStatusPath;
      values.set(name, [value]);
    } else if (Object.hasOwn(SITE_FLAGS, name)) {
      // In command-line order, across flags: Redirects and Aliases match in the order written.
      if (SITE_FLAGS[name]!.switch) {
        if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
        siteFlags.push({ name, value: "" });
      } else {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`option '--${name}' needs a value`);
        siteFlags.push({ name, value });
      }
    } else if (SWITCHES.has(name)) {
      if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
      switches.add(name);
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option '--${name}' needs a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option '--${name}' (see --help)`);
    }
  }
  if (switches.has("help")) return { kind: "help" };
  if (switches.has("version")) return { kind: "version" };

  // As argparse, gunicorn and Apache's directives: the last value given wins.
  const single = (name: string): string | undefined => values.get(name)?.at(-1);
  const config = single("config");
  const aliases = (values.get("alias") ?? []).map((spec) => parseAlias(spec, cwd));
  if (positional.length > 1) throw new UsageError(`one script at most as an argument, got: ${positional.join(" ")}`);
  if (positional.length === 1) aliases.push(parseAlias(`/=${positional[0]}`, cwd));
  const directives = siteLines(siteFlags, cwd);
  if (config !== undefined) {
    // A configuration file describes its virtual hosts itself: flags for one host's routes would be ambiguous.
    const hostFlags = ["alias", "application-group", "callable-object", "server-name", "import-script", "daemon-process", "https-port",
      "ssl-certificate-file", "ssl-certificate-key-file", "ssl-certificate-chain-file"].filter((flag) => values.has(flag));
    if (switches.has("pass-authorization")) hostFlags.push("pass-authorization");
    hostFlags.push(...new Set(siteFlags.map((flag) => flag.name)));
    if (positional.length) hostFlags.push("a SCRIPT argument");
    if (hostFlags.length) {
      const inFile = [...new Set(directives.map((line) => line.name))].join(", ");
      throw new UsageError(`${hostFlags.map((f) => (f.startsWith("a ") ? f : `--${f}`)).join(", ")} cannot be combined with --config: write them in the file (WSGIScriptAlias, WSGIApplicationGroup, WSGICallableObject, ServerName, WSGIImportScript, WSGIPassAuthorization, WSGIDaemonProcess; Listen N https with SSLEngine on, SSLCertificateFile, SSLCertificateKeyFile${inFile ? `; ${inFile}` : ""})`);
    }
    // No directive says how many interpreters a configuration file's application groups get.
    if (values.has("parallel-interpreters")) {
      throw new UsageError("--parallel-interpreters applies to --alias routes and cannot be combined with --config: a configuration file's application groups run in one interpreter each");
    }
  } else if (aliases.length === 0 && !directives.some((line) => SERVING_DIRECTIVES.has(line.name)) && !switches.has("check-config")) {
    throw new UsageError("nothing to serve: give --alias URL=FILE, a script, --document-root, --url-alias, --redirect... or --config FILE (see --help)");
  }
  if (directives.some((line) => line.name === "ServerAlias") && single("server-name") === undefined) {
    throw new UsageError("--server-alias needs --server-name: the host's name, of which the aliases are other names");
  }
  const problem = lineProblem(directives);
  if (problem) throw new UsageError(problem);
  const seen = new Set<string>();
  for (const alias of aliases) {
    if (seen.has(alias.url)) throw new UsageError(`alias '${alias.url}' declared twice`);
    seen.add(alias.url);
  }
  const daemons = (values.get("daemon-process") ?? []).map((spec) => parseDaemonProcess(spec, cwd));
  const importScripts = (values.get("import-script") ?? []).map((spec) => parseImportScript(spec, cwd));
  checkProcessGroups(daemons, aliases, importScripts, directives);
  if (defines.length && config === undefined) throw new UsageError("-D defines a parameter for <IfDefine> in a --config file: give --config too");
  const parallelInterpreters = integer("parallel-interpreters", single("parallel-interpreters"), 1, MAX_PARALLEL);
  checkParallelGroups(aliases, single("application-group") ?? DEFAULTS.applicationGroup, parallelInterpreters ?? DEFAULTS.parallelInterpreters);

  const logLevel = single("log-level");
  if (logLevel !== undefined) {
    try {
      levelNumber(logLevel);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const user = single("user");
  const group = single("group");
  if (user === "" || group === "") throw new UsageError(`option '--${user === "" ? "user" : "group"}' needs a name or #id`);
  // Without --user the process keeps its identity: a group alone would leave the app running as root.
  if (group !== undefined && user === undefined) throw new UsageError("--group needs --user (the group of the user the process becomes)");
  const callableObject = single("callable-object");
  if (callableObject !== undefined && !PYTHON_NAME.test(callableObject)) throw new UsageError(`--callable-object '${callableObject}' is not a Python name`);
  const flags: Flags = {
    config: config === undefined ? undefined : resolve(cwd, config),
    strict: switches.has("strict"),
    checkConfig: switches.has("check-config"),
    defines,
    aliases,
    host: single("host"),
    port: integer("port", single("port"), 0, 65535),
    threads: integer("threads", single("threads"), 1, 1024),
    python: single("python"),
    pythonHome: single("python-home"),
    pythonPath: (values.get("python-path") ?? []).map((p) => resolve(cwd, p)),
    noReload: switches.has("no-reload"),
    serverName: single("server-name"),
    errorLog: single("error-log"),
    logLevel,
    accessLog: single("access-log"),
    accessLogFormat: single("access-log-format"),
    processes: integer("processes", single("processes"), 1, 64),
    gracefulTimeout: integer("graceful-timeout", single("graceful-timeout"), 0, 86400),
    requestTimeout: integer("request-timeout", single("request-timeout"), 0, 86400),
    maximumRequests: integer("maximum-requests", single("maximum-requests"), 0, Number.MAX_SAFE_INTEGER),
    restartInterval: integer("restart-interval", single("restart-interval"), 0, 31_536_000),
    importScripts,
    daemons,
    queueTimeout: integer("queue-timeout", single("queue-timeout"), 0, 86400),
    limitRequestBody: integer("limit-request-body", single("limit-request-body"), 0, Number.MAX_SAFE_INTEGER),
    applicationGroup: single("application-group"),
    callableObject,
    passAuthorization: switches.has("pass-authorization"),
    parallelInterpreters,
    ...trustFlags(values.get("trust-proxy") ?? [], values.get("trust-proxy-header") ?? []),
    directives,
    limitRequestLine: integer("limit-request-line", single("limit-request-line"), 16, 1 << 20),
    limitRequestFields: integer("limit-request-fields", single("limit-request-fields"), 1, 10_000),
    limitRequestFieldSize: integer("limit-request-field-size", single("limit-request-field-size"), 16, 1 << 20),
    timeout: integer("timeout", single("timeout"), 1, 86400),
    requestReadTimeout: integer("request-read-timeout", single("request-read-timeout"), 1, 86400),
    keepAliveTimeout: integer("keep-alive-timeout", single("keep-alive-timeout"), 0, 86400),
    maxKeepAliveRequests: integer("max-keep-alive-requests", single("max-keep-alive-requests"), 0, Number.MAX_SAFE_INTEGER),
    maxConnections: integer("max-connections", single("max-connections"), 0, 1_000_000),
    queueLimit: integer("queue-limit", single("queue-limit"), 0, 1_000_000),
    deadlockTimeout: integer("deadlock-timeout", single("deadlock-timeout"), 0, 86400),
    user,
    group,
    ...serverStatus(single("server-status"), values.get("server-status-allow") ?? []),
    ...httpsFlags(single, cwd),
  };
  if (flags.httpsPort !== undefined && flags.httpsPort !== 0 && flags.httpsPort === (flags.port ?? DEFAULTS.port)) {
    throw new UsageError(`--https-port ${flags.httpsPort} is the --port too: give them different ports`);
  }
  return { kind: "serve", flags };
}

function serverStatus(path: string | undefined, allow: string[]): Pick<Flags, "serverStatus" | "serverStatusAllow"> {
  if (path === undefined) {
    if (allow.length) throw new UsageError("--server-status-allow needs --server-status");
    return { serverStatusAllow: [] };
  }
  if (!path.startsWith("/") || path === "/" || /[?#\s]/.test(path)) {
    throw new UsageError(`--server-status wants a URL path like ${DEFAULTS.serverStatusPath} (not '/', no query), got '${path}'`);
  }
  const base = path.replace(/\/+$/, "");
  // Read as the <Location> with SetHandler server-status and Require ip it stands for.
  const problem = lineProblem(statusLines(base, allow));
  if (problem) throw new UsageError(problem);
  return { serverStatus: base, serverStatusAllow: allow };
}

/** --https-port and the certificate files it needs (read, as mod_ssl does, at start: missing or empty is an error). */
function httpsFlags(single: (name: string) => string | undefined, cwd: string): Pick<Flags, "httpsPort" | "sslCertificateFile" | "sslCertificateKeyFile" | "sslCertificateChainFile"> {
  const httpsPort = integer("https-port", single("https-port"), 0, 65535);
  const file = (name: string): string | undefined => {
    const value = single(name);
    if (value === undefined) return undefined;
    const path = resolve(cwd, value);
    const problem = pemFileProblem(`--${name}`, path);
    if (problem) throw new UsageError(problem);
    return path;
  };
  const files = {
    sslCertificateFile: file("ssl-certificate-file"),
    sslCertificateKeyFile: file("ssl-certificate-key-file"),
    sslCertificateChainFile: file("ssl-certificate-chain-file"),
  };
  const given = Object.entries(files).filter(([, value]) => value !== undefined);
  if (httpsPort === undefined) {
    if (given.length) throw new UsageError("--ssl-certificate-file and the other --ssl-* flags go with --https-port N");
  } else if (!files.sslCertificateFile || !files.sslCertificateKeyFile) {
    throw new UsageError("--https-port needs --ssl-certificate-file FILE and --ssl-certificate-key-file FILE");
  }
  return { httpsPort, ...files };
}

/** --trust-proxy and --trust-proxy-header, read as the WSGITrustedProxies and WSGITrustedProxyHeaders they stand for. */
function trustFlags(proxies: string[], headers: string[]): Pick<Flags, "trustedProxies" | "trustedProxyHeaders"> {
  const problem = lineProblem(trustLines(proxies, headers));
  if (problem) throw new UsageError(problem);
  return { trustedProxies: proxies, trustedProxyHeaders: headers };
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  return wholeNumber(`option '--${name}'`, value, min, max, usageError);
}

function usageError(message: string): never {
  throw new UsageError(message);
}

export function parseImportScript(spec: string, cwd: string): ImportScript {
  const [file, ...options] = spec.split(",");
  const option = (name: string) => options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const group = option("application-group");
  const processGroup = option("process-group");
  const unknown = options.filter((o) => !o.startsWith("application-group=") && !o.startsWith("process-group="));
  if (!file || unknown.length > 0 || group === undefined || processGroup === "") {
    throw new UsageError(`--import-script wants FILE,application-group=NAME[,process-group=NAME], got '${spec}'`);
  }
  if (group === "%{RESOURCE}") {
    throw new UsageError("--import-script: %{RESOURCE} names no alias here; give the group's name (host:port|/alias), %{SERVER} or %{GLOBAL}");
  }
  const script: ImportScript = { script: resolve(cwd, file), applicationGroup: group };
  if (processGroup !== undefined && processGroup !== "%{GLOBAL}") script.processGroup = processGroup;
  return script;
}

/** --daemon-process NAME[,OPTION=VALUE...]: WSGIDaemonProcess's options, plus python= (the interpreter to embed). */
export function parseDaemonProcess(spec: string, cwd: string): DaemonFlag {
  const [name = "", ...parts] = spec.split(",");
  if (!/^[^\s%,=][^\s,=]*$/.test(name)) throw new UsageError(`--daemon-process wants NAME[,OPTION=VALUE...] with a group name first, got '${spec}'`);
  const options = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq < 0 ? undefined : eq).toLowerCase();
    if (eq <= 0) throw new UsageError(`--daemon-process ${name}: options are OPTION=VALUE, got '${part}'`);
    if (key !== "python" && !DAEMON_OPTIONS.has(key)) throw new UsageError(`--daemon-process ${name}: unknown option '${key}' (see --help)`);
    if (key !== "python" && !IMPLEMENTED_DAEMON_OPTIONS.has(key)) throw new UsageError(`--daemon-process ${name}: ${key}= is not implemented by wsgi-bin`);
    options.set(key, part.slice(eq + 1));
  }
  const settings = daemonSettings(name, options, {
    fail: (message) => {
      throw new UsageError(message.replace(/^WSGIDaemonProcess /, "--daemon-process "));
    },
    path: (value) => resolve(cwd, value),
    warn: (message) => {
      throw new UsageError(message.replace(/^WSGIDaemonProcess /, "--daemon-process "));
    },
  });
  const python = options.get("python");
  if (python !== undefined) {
    if (python === "") throw new UsageError(`--daemon-process ${name}: python= is empty`);
    settings.python = python;
  }
  return { name, options: Object.fromEntries(options), settings };
}

/** Every process-group= names a --daemon-process (or %{GLOBAL}); no group is declared twice. */
function checkProcessGroups(daemons: DaemonFlag[], aliases: AliasFlag[], importScripts: ImportScript[], directives: DirectiveLine[]): void {
  const names = new Set<string>();
  for (const daemon of daemons) {
    if (names.has(daemon.name)) throw new UsageError(`--daemon-process '${daemon.name}' declared twice`);
    names.add(daemon.name);
  }
  const uses = [
    ...aliases.map((alias) => [alias.processGroup, `--alias '${alias.url}'`] as const),
    ...importScripts.map((script) => [script.processGroup, `--import-script '${script.script}'`] as const),
    ...directives.filter((line) => line.name === "WSGIScriptAliasMatch").map((line) =>
      [line.args.find((arg) => arg.startsWith("process-group="))?.slice("process-group=".length), `--alias-match '${line.args[0]}'`] as const),
  ];
  for (const [group, what] of uses) {
    if (group !== undefined && group !== "%{GLOBAL}" && !names.has(group)) {
      throw new UsageError(`${what}: process-group '${group}' is not defined (give --daemon-process ${group}[,OPTION=VALUE...])`);
    }
  }
}

const ALIAS_OPTIONS = new Set(["application-group", "callable-object", "pass-authorization", "process-group", "parallel-interpreters"]);
/** The replica index travels in 16 bits of a Request's ARG (pool/channel.ts): far above any core count. */
const MAX_PARALLEL = 64;

/**
 * --parallel-interpreters: %{GLOBAL} is the main interpreter, one interpreter with the main GIL, so it
 * cannot be K of them; and the aliases sharing a group must agree on its K. %{SERVER} and a literal
 * name are compared as written (engine.ts checks the resolved names again).
 */
function checkParallelGroups(aliases: AliasFlag[], defaultGroup: string, defaultCount: number): void {
  const groups = new Map<string, { url: string; count: number }>();
  for (const alias of aliases) {
    const group = alias.applicationGroup ?? defaultGroup;
    const count = alias.parallelInterpreters ?? defaultCount;
    if (group === "%{GLOBAL}" && count > 1) {
      throw new UsageError(
        `--alias '${alias.url}': application-group=%{GLOBAL} is the main interpreter, which cannot be split into ` +
        `${count} parallel interpreters (it has the process's one main GIL). Give this alias ` +
        "parallel-interpreters=1, or another application group",
      );
    }
    if (group === "%{RESOURCE}") continue; // one alias per group
    const other = groups.get(group);
    if (other && other.count !== count) {
      throw new UsageError(
        `aliases '${other.url}' and '${alias.url}' share application group ${group} but ask for ` +
        `${other.count} and ${count} parallel interpreters: give both the same parallel-interpreters=`,
      );
    }
    groups.set(group, { url: alias.url, count });
  }
}

export function parseAlias(spec: string, cwd: string): AliasFlag {
  const [target, ...options] = spec.split(",");
  const eq = target!.indexOf("=");
  if (eq < 0) throw new UsageError(`--alias wants URL=FILE, got '${spec}'`);
  let url = target!.slice(0, eq);
  const file = target!.slice(eq + 1);
  if (!url.startsWith("/")) throw new UsageError(`--alias URL must start with '/', got '${url}'`);
  if (url.length > 1) url = url.replace(/\/+$/, "");
  if (!file) throw new UsageError(`--alias '${url}' names no script file`);
  const alias: AliasFlag = { url, script: resolve(cwd, file) };
  for (const option of options) {
    const oeq = option.indexOf("=");
    const name = option.slice(0, oeq < 0 ? undefined : oeq);
    const value = oeq < 0 ? "" : option.slice(oeq + 1);
    if (!ALIAS_OPTIONS.has(name) || oeq < 0) {
      throw new UsageError(`--alias '${url}': unknown option '${option}' (application-group=, callable-object=, pass-authorization=, process-group=, parallel-interpreters=)`);
    }
    if (name === "application-group") alias.applicationGroup = value;
    else if (name === "process-group") {
      if (value === "" || value === "%{SERVER}" || value === "%{RESOURCE}") throw new UsageError(`--alias '${url}': process-group wants %{GLOBAL} or a --daemon-process name, got '${value}'`);
      alias.processGroup = value;
    } else if (name === "parallel-interpreters") {
      alias.parallelInterpreters = wholeNumber(`--alias '${url}': parallel-interpreters`, value, 1, MAX_PARALLEL, usageError);
    } else if (name === "callable-object") {
      if (!PYTHON_NAME.test(value)) throw new UsageError(`--alias '${url}': callable-object '${value}' is not a Python name`);
      alias.callableObject = value;
    } else {
      if (!["on", "off"].includes(value.toLowerCase())) throw new UsageError(`--alias '${url}': pass-authorization wants on or off`);
      alias.passAuthorization = value.toLowerCase() === "on";
    }
  }
  return alias;
}
