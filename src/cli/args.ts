// Command-line flags. Each names the Apache/mod_wsgi directive it stands for in --help and the README.
import { resolve } from "node:path";
import { DEFAULTS, type AliasConfig, type ImportScript, type ServerConfig } from "../config.ts";
import { levelNumber } from "../log/levels.ts";

export class UsageError extends Error {}

export type Command = { kind: "serve"; config: ServerConfig } | { kind: "help" } | { kind: "version" };

export const HELP = `Usage: wsgi-bin [options] [SCRIPT.wsgi]
Serve Python WSGI scripts from an embedded CPython, as Apache's mod_wsgi does in embedded mode.

  SCRIPT.wsgi                    shorthand for --alias /=SCRIPT.wsgi
  --alias URL=FILE[,OPTION=VALUE...]
                                 mount a WSGI script at URL (WSGIScriptAlias); repeatable, the first
                                 declared alias covering a path wins. OPTIONs:
                                   application-group=NAME  %{RESOURCE} %{SERVER} %{GLOBAL} or a name
                                   callable-object=NAME    the callable to call (default application)
                                   pass-authorization=on|off
                                   parallel-interpreters=K  this alias's group as K interpreters (below)
  --import-script FILE,application-group=NAME
                                 load FILE into that application group's interpreter when a process
                                 starts (WSGIImportScript); NAME is %{GLOBAL}, %{SERVER} or a name;
                                 repeatable
  --host ADDR                    address to listen on (default ${DEFAULTS.host})
  --port N                       port to listen on (default ${DEFAULTS.port}; 0 picks a free one)
  --threads N                    worker threads running Python, per process (default ${DEFAULTS.threads})
  --parallel-interpreters K      run each application group as K sub-interpreters, each with its own GIL
                                 (Python 3.12+), requests spread over them: one process uses K cores;
                                 C extensions with single-phase init refuse to load there (default ${DEFAULTS.parallelInterpreters}:
                                 one interpreter per group, all sharing the main GIL); not for %{GLOBAL}
  --request-timeout S            raise RequestTimeout in an app that has run S seconds for one request:
                                 504, or a cut connection once the response started (default 0: off)
  --processes N                  processes serving the port (SO_REUSEPORT) under a supervisor that
                                 replaces any that die (default ${DEFAULTS.processes}: one process, no supervisor)
  --graceful-timeout S           on SIGTERM/SIGINT/SIGHUP, seconds requests in flight get to finish
                                 (default ${DEFAULTS.gracefulTimeout})
  --maximum-requests N           replace a process after N requests, its successor up first (default off)
  --restart-interval S           replace a process after S seconds, its successor up first (default off)
  --queue-timeout S              answer 503 to a request that waited S seconds for a free thread
                                 (default off)
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
  --access-log FILE|-            access log in Combined Log Format (CustomLog; - is stdout; default off)
  --limit-request-body BYTES     largest request body accepted, 0 for no limit (LimitRequestBody;
                                 default ${DEFAULTS.limitRequestBody}): larger ones get 413
  --help, -h                     this text
  --version, -v                  the version
`;

const VALUE_FLAGS = new Set([
  "alias", "host", "port", "threads", "python", "python-home", "python-path", "application-group",
  "callable-object", "server-name", "error-log", "log-level", "access-log", "limit-request-body",
  "processes", "graceful-timeout", "maximum-requests", "restart-interval", "queue-timeout", "import-script",
  "request-timeout", "parallel-interpreters",
]);
const SWITCHES = new Set(["pass-authorization", "no-reload", "help", "version"]);

export function parseArgs(argv: string[], hostname: string, cwd = process.cwd()): Command {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") return { kind: "help" };
    if (arg === "-v") return { kind: "version" };
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option '${arg}'`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (SWITCHES.has(name)) {
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
  const defaults = {
    applicationGroup: single("application-group") ?? DEFAULTS.applicationGroup,
    callableObject: single("callable-object") ?? DEFAULTS.callableObject,
    passAuthorization: switches.has("pass-authorization"),
    parallelInterpreters: integer("parallel-interpreters", single("parallel-interpreters"), DEFAULTS.parallelInterpreters, 1, MAX_PARALLEL),
  };
  const aliases = (values.get("alias") ?? []).map((spec) => parseAlias(spec, defaults, cwd));
  if (positional.length > 1) throw new UsageError(`one script at most as an argument, got: ${positional.join(" ")}`);
  if (positional.length === 1) aliases.push(parseAlias(`/=${positional[0]}`, defaults, cwd));
  if (aliases.length === 0) throw new UsageError("nothing to serve: give --alias URL=FILE or a script (see --help)");
  const seen = new Set<string>();
  for (const alias of aliases) {
    if (seen.has(alias.url)) throw new UsageError(`alias '${alias.url}' declared twice`);
    seen.add(alias.url);
  }
  checkParallelGroups(aliases);

  const logLevel = single("log-level") ?? DEFAULTS.logLevel;
  try {
    levelNumber(logLevel);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const config: ServerConfig = {
    aliases,
    host: single("host") ?? DEFAULTS.host,
    port: integer("port", single("port"), DEFAULTS.port, 0, 65535),
    threads: integer("threads", single("threads"), DEFAULTS.threads, 1, 1024),
    python: single("python"),
    pythonHome: single("python-home"),
    pythonPath: (values.get("python-path") ?? []).map((p) => resolve(cwd, p)),
    reload: !switches.has("no-reload"),
    serverName: single("server-name") ?? hostname,
    errorLog: single("error-log"),
    logLevel,
    accessLog: single("access-log"),
    processes: integer("processes", single("processes"), DEFAULTS.processes, 1, 64),
    gracefulTimeout: integer("graceful-timeout", single("graceful-timeout"), DEFAULTS.gracefulTimeout, 0, 86400),
    requestTimeout: integer("request-timeout", single("request-timeout"), DEFAULTS.requestTimeout, 0, 86400),
    maximumRequests: integer("maximum-requests", single("maximum-requests"), DEFAULTS.maximumRequests, 0, Number.MAX_SAFE_INTEGER),
    restartInterval: integer("restart-interval", single("restart-interval"), DEFAULTS.restartInterval, 0, 31_536_000),
    importScripts: (values.get("import-script") ?? []).map((spec) => parseImportScript(spec, cwd)),
    queueTimeout: integer("queue-timeout", single("queue-timeout"), DEFAULTS.queueTimeout, 0, 86400),
    limitRequestBody: integer("limit-request-body", single("limit-request-body"), DEFAULTS.limitRequestBody, 0, Number.MAX_SAFE_INTEGER),
  };
  return { kind: "serve", config };
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || +value < min || +value > max) {
    throw new UsageError(`option '--${name}' wants a whole number from ${min} to ${max}, got '${value}'`);
  }
  return +value;
}

export function parseImportScript(spec: string, cwd: string): ImportScript {
  const [file, ...options] = spec.split(",");
  const group = options.find((option) => option.startsWith("application-group="))?.slice("application-group=".length);
  const unknown = options.filter((option) => !option.startsWith("application-group="));
  if (!file || unknown.length > 0 || group === undefined) {
    throw new UsageError(`--import-script wants FILE,application-group=NAME, got '${spec}'`);
  }
  if (group === "%{RESOURCE}") {
    throw new UsageError("--import-script: %{RESOURCE} names no alias here; give the group's name (host:port|/alias), %{SERVER} or %{GLOBAL}");
  }
  return { script: resolve(cwd, file), applicationGroup: group };
}

const ALIAS_OPTIONS = new Set(["application-group", "callable-object", "pass-authorization", "parallel-interpreters"]);
const MAX_PARALLEL = 64;

/**
 * --parallel-interpreters: %{GLOBAL} is the main interpreter, one interpreter with the main GIL, so it
 * cannot be K of them; and the aliases sharing a group must agree on its K. %{SERVER} and a literal
 * name are compared as written (server.ts checks the resolved names again).
 */
function checkParallelGroups(aliases: AliasConfig[]): void {
  const groups = new Map<string, AliasConfig>();
  for (const alias of aliases) {
    if (alias.applicationGroup === "%{GLOBAL}" && alias.parallelInterpreters > 1) {
      throw new UsageError(
        `--alias '${alias.url}': application-group=%{GLOBAL} is the main interpreter, which cannot be split into ` +
        `${alias.parallelInterpreters} parallel interpreters (it has the process's one main GIL). Give this alias ` +
        "parallel-interpreters=1, or another application group",
      );
    }
    if (alias.applicationGroup === "%{RESOURCE}") continue; // one alias per group
    const other = groups.get(alias.applicationGroup);
    if (other && other.parallelInterpreters !== alias.parallelInterpreters) {
      throw new UsageError(
        `aliases '${other.url}' and '${alias.url}' share application group ${alias.applicationGroup} but ask for ` +
        `${other.parallelInterpreters} and ${alias.parallelInterpreters} parallel interpreters: give both the same parallel-interpreters=`,
      );
    }
    groups.set(alias.applicationGroup, alias);
  }
}

export function parseAlias(
  spec: string,
  defaults: { applicationGroup: string; callableObject: string; passAuthorization: boolean; parallelInterpreters: number },
  cwd: string,
): AliasConfig {
  const [target, ...options] = spec.split(",");
  const eq = target!.indexOf("=");
  if (eq < 0) throw new UsageError(`--alias wants URL=FILE, got '${spec}'`);
  let url = target!.slice(0, eq);
  const file = target!.slice(eq + 1);
  if (!url.startsWith("/")) throw new UsageError(`--alias URL must start with '/', got '${url}'`);
  if (url.length > 1) url = url.replace(/\/+$/, "");
  if (!file) throw new UsageError(`--alias '${url}' names no script file`);
  const alias: AliasConfig = {
    url,
    script: resolve(cwd, file),
    applicationGroup: defaults.applicationGroup,
    callableObject: defaults.callableObject,
    passAuthorization: defaults.passAuthorization,
    parallelInterpreters: defaults.parallelInterpreters,
  };
  for (const option of options) {
    const oeq = option.indexOf("=");
    const name = option.slice(0, oeq < 0 ? undefined : oeq);
    const value = oeq < 0 ? "" : option.slice(oeq + 1);
    if (!ALIAS_OPTIONS.has(name) || oeq < 0) {
      throw new UsageError(`--alias '${url}': unknown option '${option}' (application-group=, callable-object=, pass-authorization=, parallel-interpreters=)`);
    }
    if (name === "application-group") alias.applicationGroup = value;
    else if (name === "parallel-interpreters") {
      if (!/^\d+$/.test(value) || +value < 1 || +value > MAX_PARALLEL) {
        throw new UsageError(`--alias '${url}': parallel-interpreters wants a whole number from 1 to ${MAX_PARALLEL}, got '${value}'`);
      }
      alias.parallelInterpreters = +value;
    }
    else if (name === "callable-object") {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new UsageError(`--alias '${url}': callable-object '${value}' is not a Python name`);
      alias.callableObject = value;
    } else {
      if (!["on", "off"].includes(value.toLowerCase())) throw new UsageError(`--alias '${url}': pass-authorization wants on or off`);
      alias.passAuthorization = value.toLowerCase() === "on";
    }
  }
  return alias;
}
