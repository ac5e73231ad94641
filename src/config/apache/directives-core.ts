// Apache core and MPM directives: listeners, names, DocumentRoot, Options, Require, limits, modules.
import { existsSync } from "node:fs";
import { ipRanges } from "../../http/ip-ranges.ts";
import { ConfigError, type Source } from "../diagnostics.ts";
import { mergeOptions } from "../resolve.ts";
import type { Listener, RequireLine, VhostAddress } from "../site.ts";
import { ANYWHERE, flagArg, HOST, integerArg, pathArg, SECTIONS, SERVER, type DirectiveSpec } from "./context.ts";
import { hasModule } from "./modules.ts";
import { addRequireRule } from "./require-sections.ts";
import type { ServerTokens } from "../../version.ts";

export function parseListen(args: string[], source: Source): Listener {
  const [address, protocolArg] = args as [string, string | undefined];
  let host = "0.0.0.0";
  let portText = address;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(address);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else if (address.includes(":")) {
    const colon = address.lastIndexOf(":");
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(":")) throw new ConfigError(source, `Listen: write an IPv6 address in brackets, as [${host}]:${portText}`);
    if (host === "*") host = "0.0.0.0";
  }
  const port = integerArg("Listen's port", portText, source, 0, 65535);
  const protocol = (protocolArg ?? (port === 443 ? "https" : "http")).toLowerCase();
  if (protocol !== "http" && protocol !== "https") throw new ConfigError(source, `Listen: protocol must be http or https, got '${protocolArg}'`);
  return { host, port, protocol, source };
}

export function parseVhostAddress(text: string, source: Source): VhostAddress {
  let host = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
  }
  if (host === "_default_") host = "*";
  if (port === undefined || port === "*") return { host, port: "*" };
  return { host, port: integerArg("<VirtualHost> port", port, source, 0, 65535) };
}

/** ServerName [scheme://]host[:port] -> host. */
export function serverNameHost(value: string): string {
  const withoutScheme = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const bracketed = /^(\[[^\]]+\])/.exec(withoutScheme);
  if (bracketed) return bracketed[1]!;
  return withoutScheme.replace(/:\d*$/, "");
}

/** ServerTokens' words, as Apache reads them (any case; Min and ProductOnly too). */
const SERVER_TOKENS = new Map<string, ServerTokens>([
  ["prod", "Prod"], ["productonly", "Prod"], ["major", "Major"], ["minor", "Minor"], ["min", "Minimal"], ["minimal", "Minimal"],
  ["os", "OS"], ["full", "Full"],
]);

const OPTION_NAMES = new Map(
  ["All", "None", "Indexes", "FollowSymLinks", "SymLinksIfOwnerMatch", "ExecCGI", "Includes", "IncludesNOEXEC", "MultiViews"]
    .map((name) => [name.toLowerCase(), name]),
);
/** mod_wsgi's handler names: a file they apply to runs as a WSGI script (Options ExecCGI needed). */
const WSGI_HANDLERS = new Set(["wsgi-script", "application/x-httpd-wsgi"]);

/** Options that change what wsgi-bin does. ExecCGI is what WSGIScriptAlias already grants. */
const OPTIONS_ACTED_ON = new Set(["All", "None", "Indexes", "FollowSymLinks", "ExecCGI"]);

function requireRule(args: string[], source: Source): RequireLine {
  if (args[0]!.toLowerCase() === "not") {
    if (args.length < 2) throw new ConfigError(source, "Require not needs a provider after it, as in Require not ip 10.0.0.1");
    return { ...requireRule(args.slice(1), source), negated: true };
  }
  const [provider, ...rest] = args as [string, ...string[]];
  switch (provider.toLowerCase()) {
    case "all":
      if (rest.length !== 1 || !["granted", "denied"].includes(rest[0]!.toLowerCase())) {
        throw new ConfigError(source, "Require all takes one argument: granted or denied");
      }
      return { kind: "all", granted: rest[0]!.toLowerCase() === "granted" };
    case "ip":
      if (rest.length === 0) throw new ConfigError(source, "Require ip needs at least one address or range");
      try {
        ipRanges(rest);
      } catch (error) {
        throw new ConfigError(source, `Require ip: ${(error as Error).message}`);
      }
      return { kind: "ip", ranges: rest };
    case "local":
      if (rest.length) throw new ConfigError(source, "Require local takes no argument");
      return { kind: "local" };
    case "valid-user":
      if (rest.length) throw new ConfigError(source, "Require valid-user takes no argument");
      return { kind: "valid-user" };
    case "user":
    case "group":
    case "wsgi-group":
      if (rest.length === 0) throw new ConfigError(source, `Require ${provider.toLowerCase()} needs at least one name`);
      return { kind: provider.toLowerCase() as "user" | "group" | "wsgi-group", names: rest };
    default:
      return { kind: "unsupported", text: args.join(" ") };
  }
}

export const CORE_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "ErrorDocument", where: ANYWHERE, args: [2, 2], usage: "ERROR-CODE DOCUMENT",
    apply(walk, args, source) {
      const status = integerArg("ErrorDocument", args[0]!, source, 400, 599);
      walk.settings.errorDocuments = { ...walk.settings.errorDocuments, [status]: args[1]! };
    },
  },
  {
    // None is what wsgi-bin does (no .htaccess is ever read): said without a warning.
    name: "AllowOverride", where: ["directory"], args: [1, Infinity], usage: "None|All|DIRECTIVE-TYPE...",
    apply(walk, args, source) {
      if (args.length === 1 && args[0]!.toLowerCase() === "none") return;
      walk.diagnostics.warn(source, `AllowOverride ${args.join(" ")}: wsgi-bin never reads .htaccess files (as AllowOverride None): ignored`);
    },
  },
  {
    name: "Listen", where: SERVER, args: [1, 2], usage: "[ADDRESS:]PORT [PROTOCOL]",
    apply(walk, args, source) {
      const listener = parseListen(args, source);
      const same = walk.draft.listeners.find((l) => l.host === listener.host && l.port === listener.port && listener.port !== 0);
      if (same) throw new ConfigError(source, `Listen: ${listener.host}:${listener.port} is already a listener (line ${same.source?.line})`);
      walk.draft.listeners.push(listener);
    },
  },
  {
    name: "ServerName", where: HOST, args: [1, 1], usage: "[SCHEME://]NAME[:PORT]",
    apply(walk, args) {
      walk.vhost.serverName = serverNameHost(args[0]!);
    },
  },
  {
    name: "TraceEnable", where: HOST, args: [1, 1], usage: "on|off|extended",
    apply(walk, args, source) {
      const mode = args[0]!.toLowerCase();
      if (mode !== "on" && mode !== "off" && mode !== "extended") throw new ConfigError(source, `TraceEnable must be on, off or extended, not '${args[0]}'`);
      walk.vhost.traceEnable = mode;
    },
  },
  {
    name: "ServerAlias", where: ["vhost"], args: [1, Infinity], usage: "NAME [NAME]...",
    apply(walk, args) {
      walk.vhost.serverAliases.push(...args);
    },
  },
  {
    name: "DocumentRoot", where: HOST, args: [1, 1], usage: "DIRECTORY",
    apply(walk, args, source) {
      const dir = pathArg(walk, args[0]!, source);
      if (!existsSync(dir)) walk.diagnostics.warn(source, `DocumentRoot '${dir}' does not exist`);
      walk.vhost.documentRoot = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
      walk.vhost.documentRootSource = source;
    },
  },
  {
    name: "ServerAdmin", where: HOST, args: [1, 1], usage: "EMAIL-ADDRESS|URL",
    apply(walk, args) {
      walk.vhost.serverAdmin = args[0]!; // environ's SERVER_ADMIN (wsgi-bin's error pages do not show it)
    },
  },
  {
    name: "ServerSignature", where: ANYWHERE, args: [1, 1], usage: "On|Off|EMail",
    apply(walk, args, source) {
      const value = args[0]!.toLowerCase();
      if (value !== "on" && value !== "off" && value !== "email") throw new ConfigError(source, `ServerSignature takes On, Off or EMail, got '${args[0]}'`);
      walk.settings.serverSignature = value; // environ's SERVER_SIGNATURE (not added to wsgi-bin's error pages)
    },
  },
  {
    name: "ServerRoot", where: SERVER, args: [1, 1], usage: "DIRECTORY",
    apply() {}, // read (and acted on) by the parser: Include and relative paths use it
  },
  {
    name: "ThreadsPerChild", where: SERVER, args: [1, 1], usage: "N",
    apply(walk, args, source) {
      walk.draft.embedded.threads = integerArg("ThreadsPerChild", args[0]!, source, 1, 1024);
    },
  },
  {
    name: "StartServers", where: SERVER, args: [1, 1], usage: "N",
    apply(walk, args, source) {
      walk.draft.embedded.processes = integerArg("StartServers", args[0]!, source, 1, 64);
    },
  },
  // The HTTP layer's limits and timeouts (src/http/wire/limits.ts), server-wide as wsgi-bin applies them.
  ...([
    ["LimitRequestLine", "limitRequestLine", 16, 1 << 20],
    ["LimitRequestFields", "limitRequestFields", 1, 10_000],
    ["LimitRequestFieldSize", "limitRequestFieldSize", 16, 1 << 20],
    ["Timeout", "timeout", 1, 86400],
    ["KeepAliveTimeout", "keepAliveTimeout", 0, 86400],
    ["MaxKeepAliveRequests", "maxKeepAliveRequests", 0, Number.MAX_SAFE_INTEGER],
    ["MaxRequestWorkers", "maxConnections", 0, 1_000_000],
  ] as const).map(([name, key, min, max]): DirectiveSpec => ({
    name, where: SERVER, args: [1, 1], usage: "N",
    apply(walk, args, source) {
      walk.draft.connection[key] = integerArg(name, args[0]!, source, min, max);
    },
  })),
  {
    name: "ListenBacklog", where: SERVER, args: [1, 1], usage: "N",
    apply(walk, args, source) {
      // Apache's queue of connections no worker has taken yet: wsgi-bin's queue of requests waiting for a thread (--queue-limit).
      walk.draft.connection.queueLimit = integerArg("ListenBacklog", args[0]!, source, 0, 1_000_000);
    },
  },
  {
    name: "KeepAlive", where: SERVER, args: [1, 1], usage: "On|Off",
    apply(walk, args, source) {
      // Off: one request per connection, which is what MaxKeepAliveRequests 1 gives.
      if (!flagArg("KeepAlive", args[0]!, source)) walk.draft.connection.maxKeepAliveRequests = 1;
    },
  },
  {
    name: "RequestReadTimeout", where: SERVER, args: [1, 3], usage: "header=SECONDS[-MAX][,MinRate=RATE] [body=...]",
    apply(walk, args, source) {
      // mod_reqtimeout: the head's deadline is served (its first number); body= is not (see known limitations).
      for (const arg of args) {
        const header = /^header=(\d+)(?:-\d+)?(?:,MinRate=\d+)?$/i.exec(arg);
        if (header) walk.draft.connection.requestReadTimeout = integerArg("RequestReadTimeout header", header[1]!, source, 1, 86400);
        else if (!/^(body|handshake)=/i.test(arg)) throw new ConfigError(source, `RequestReadTimeout: cannot read '${arg}' (header=SECONDS[-MAX][,MinRate=RATE])`);
      }
    },
  },
  {
    name: "ServerTokens", where: SERVER, args: [1, 1], usage: "Prod|Major|Minor|Minimal|OS|Full",
    apply(walk, args, source) {
      const tokens = SERVER_TOKENS.get(args[0]!.toLowerCase());
      if (!tokens) throw new ConfigError(source, `ServerTokens takes one of Prod(uctOnly), Major, Minor, Min(imal), OS or Full, not '${args[0]}'`);
      walk.draft.connection.serverTokens = tokens;
    },
  },
  {
    name: "User", where: SERVER, args: [1, 1], usage: "NAME|#UID",
    apply(walk, args) {
      walk.draft.connection.user = args[0]!;
    },
  },
  {
    name: "Group", where: SERVER, args: [1, 1], usage: "NAME|#GID",
    apply(walk, args) {
      walk.draft.connection.group = args[0]!;
    },
  },
  {
    name: "GracefulShutdownTimeout", where: SERVER, args: [1, 1], usage: "SECONDS",
    apply(walk, args, source) {
      walk.draft.embedded.gracefulTimeout = integerArg("GracefulShutdownTimeout", args[0]!, source, 0, 86400);
    },
  },
  {
    name: "LimitRequestBody", where: ANYWHERE, args: [1, 1], usage: "BYTES",
    apply(walk, args, source) {
      walk.settings.limitRequestBody = integerArg("LimitRequestBody", args[0]!, source, 0, Number.MAX_SAFE_INTEGER);
    },
  },
  {
    name: "Options", where: ANYWHERE, args: [1, Infinity], usage: "[+|-]OPTION...",
    apply(walk, args, source) {
      const signed = args.filter((a) => a.startsWith("+") || a.startsWith("-"));
      if (signed.length && signed.length !== args.length) {
        throw new ConfigError(source, "Options: either all options must start with + or -, or none may");
      }
      const change = { add: [] as string[], remove: [] as string[], replace: signed.length ? undefined : ([] as string[]), source };
      for (const arg of args) {
        const sign = arg[0] === "+" || arg[0] === "-" ? arg[0] : "";
        const name = OPTION_NAMES.get(arg.slice(sign.length).toLowerCase());
        if (!name) throw new ConfigError(source, `Options: illegal option '${arg.slice(sign.length)}'`);
        if (sign !== "-" && !OPTIONS_ACTED_ON.has(name)) walk.diagnostics.warn(source, `Options ${name} is not implemented by wsgi-bin: ignored`);
        if (sign === "-") change.remove.push(name);
        else if (sign === "+") change.add.push(name);
        else change.replace!.push(name);
      }
      // Several Options lines in one context add up, as httpd's (a later absolute one replaces).
      walk.settings.options = mergeOptions(walk.settings.options, change);
    },
  },
  {
    name: "Require", where: SECTIONS, args: [1, Infinity], usage: "[not] all granted|all denied|ip RANGE...|local|valid-user|user NAME...|group NAME...|wsgi-group NAME...",
    apply(walk, args, source) {
      const rule = requireRule(args, source);
      if (rule.kind === "unsupported") {
        walk.diagnostics.warn(source, `Require ${rule.negated ? "not " : ""}${rule.text} is not implemented by wsgi-bin: ${rule.negated ? "it refuses everyone here" : "it grants no one here"}`);
      }
      addRequireRule(walk, rule, source);
    },
  },
  {
    name: "SetHandler", where: ANYWHERE, args: [1, 1], usage: "server-status|wsgi-script|None",
    apply(walk, args, source) {
      const handler = args[0]!.toLowerCase();
      if (handler === "none" || WSGI_HANDLERS.has(handler)) walk.settings.handler = handler === "none" ? "none" : "wsgi-script";
      else if (handler !== "server-status") walk.diagnostics.warn(source, `SetHandler ${args[0]}: not implemented by wsgi-bin (only server-status and wsgi-script): ignored`);
      else if (walk.where !== "location" || walk.section?.regex) {
        walk.diagnostics.warn(source, "SetHandler server-status is served inside a <Location PATH> only: ignored here");
      } else walk.settings.handler = handler;
    },
  },
  {
    name: "AddHandler", where: ANYWHERE, args: [2, Infinity], usage: "wsgi-script EXTENSION...",
    apply(walk, args, source) {
      const handler = args[0]!.toLowerCase();
      if (!WSGI_HANDLERS.has(handler)) {
        walk.diagnostics.warn(source, `AddHandler ${args[0]}: not implemented by wsgi-bin (only wsgi-script): ignored`);
        return;
      }
      const handlers = (walk.settings.addHandlers = { ...walk.settings.addHandlers });
      for (const extension of args.slice(1)) handlers[extension.replace(/^\./, "").toLowerCase()] = "wsgi-script";
    },
  },
  {
    name: "ExtendedStatus", where: SERVER, args: [1, 1], usage: "On|Off",
    apply(walk, args, source) {
      // The status page's figures are always the extended ones (they cost a few counters per request).
      if (!flagArg("ExtendedStatus", args[0]!, source)) walk.diagnostics.warn(source, "ExtendedStatus Off is not implemented by wsgi-bin: the status page shows every figure");
    },
  },
  {
    name: "LoadModule", where: SERVER, args: [2, 2], usage: "MODULE FILE",
    apply(walk, args, source) {
      // Modules wsgi-bin provides are built in; others' directives will be reported one by one.
      if (!hasModule(args[0]!)) walk.diagnostics.warn(source, `LoadModule ${args[0]}: wsgi-bin has no such module: ignored`);
    },
  },
];
