// createServer()'s options as the command line's Flags, then through the same site model and serve
// plan as the CLI (config/), so an option means exactly what its flag means.
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { AliasFlag, Flags } from "../cli/args.ts";
import { DEFAULTS, type ServerConfig } from "../config.ts";
import { PYTHON_NAME } from "../config/apache/context.ts";
import { ConfigError, Diagnostics, formatWarning } from "../config/diagnostics.ts";
import { lineProblem, statusLines, trustLines } from "../config/flag-directives.ts";
import { siteFromFlags } from "../config/from-flags.ts";
import { withConnectionFlags } from "../config/load.ts";
import { servePlan } from "../config/serve-plan.ts";
import { LEVELS } from "../log/levels.ts";
import { ConfigurationError } from "./errors.ts";
import type { AliasEntry, ServerOptions } from "./types.ts";


function integer(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`option '${name}' wants a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function aliasEntries(aliases: ServerOptions["aliases"]): AliasEntry[] {
  if (Array.isArray(aliases)) return aliases;
  if (!aliases || typeof aliases !== "object") throw new ConfigurationError("option 'aliases' wants { \"/url\": \"script.wsgi\" } or a list of { url, script }");
  return Object.entries(aliases).map(([url, value]) => (typeof value === "string" ? { url, script: value } : { ...value, url }));
}

function aliasFlag(entry: AliasEntry, cwd: string): AliasFlag {
  let url = entry.url;
  if (typeof url !== "string" || !url.startsWith("/")) throw new ConfigurationError(`alias URL must start with '/', got ${JSON.stringify(url)}`);
  if (url.length > 1) url = url.replace(/\/+$/, "");
  if (typeof entry.script !== "string" || !entry.script) throw new ConfigurationError(`alias '${url}' names no script: give { "${url}": "/path/to/app.wsgi" }`);
  if (entry.callableObject !== undefined && !PYTHON_NAME.test(entry.callableObject)) {
    throw new ConfigurationError(`alias '${url}': callableObject '${entry.callableObject}' is not a Python name`);
  }
  return {
    url,
    script: resolve(cwd, entry.script),
    applicationGroup: entry.applicationGroup,
    callableObject: entry.callableObject,
    passAuthorization: entry.passAuthorization,
  };
}

export function optionsToFlags(options: ServerOptions, cwd = process.cwd()): Flags {
  if (!options || typeof options !== "object") throw new ConfigurationError("createServer() wants an options object: { aliases: { \"/\": \"app.wsgi\" } }");
  const aliases = aliasEntries(options.aliases).map((entry) => aliasFlag(entry, cwd));
  if (aliases.length === 0) throw new ConfigurationError("nothing to serve: give at least one alias, e.g. { aliases: { \"/\": \"app.wsgi\" } }");
  const seen = new Set<string>();
  for (const alias of aliases) {
    if (seen.has(alias.url)) throw new ConfigurationError(`alias '${alias.url}' declared twice`);
    seen.add(alias.url);
  }
  if (options.logLevel !== undefined && !LEVELS.includes(options.logLevel)) {
    throw new ConfigurationError(`logLevel '${options.logLevel}' is not one of ${LEVELS.join(" ")}`);
  }
  if (options.callableObject !== undefined && !PYTHON_NAME.test(options.callableObject)) {
    throw new ConfigurationError(`callableObject '${options.callableObject}' is not a Python name`);
  }
  const trustProxy = options.trustProxy ?? [];
  const proxyProblem = lineProblem(trustLines(trustProxy, []));
  if (proxyProblem) throw new ConfigurationError(`trustProxy: ${proxyProblem}`);
  const status = options.serverStatus === true ? {} : options.serverStatus || undefined;
  if (status) {
    if (status.path !== undefined && (!status.path.startsWith("/") || status.path === "/" || /[?#\s]/.test(status.path))) {
      throw new ConfigurationError(`serverStatus.path wants a URL path like /server-status, got '${status.path}'`);
    }
    // The <Location> with Require ip it stands for, read as a configuration file's.
    const problem = lineProblem(statusLines(status.path ?? DEFAULTS.serverStatusPath, status.allow ?? []));
    if (problem) throw new ConfigurationError(`serverStatus.allow: ${problem}`);
  }
  for (const script of options.importScripts ?? []) {
    if (!script.script || !script.applicationGroup) throw new ConfigurationError("importScripts entries want { script, applicationGroup }");
  }
  return {
    strict: false,
    checkConfig: false,
    defines: [],
    aliases,
    daemons: [],
    python: options.python,
    pythonHome: options.pythonHome,
    pythonPath: (options.pythonPath ?? []).map((dir) => resolve(cwd, dir)),
    noReload: options.reload === false,
    serverName: options.serverName,
    logLevel: options.logLevel,
    threads: integer("threads", options.threads, 1, 1024),
    gracefulTimeout: integer("gracefulTimeout", options.gracefulTimeout, 0, 86400),
    requestTimeout: integer("requestTimeout", options.requestTimeout, 0, 86400),
    queueTimeout: integer("queueTimeout", options.queueTimeout, 0, 86400),
    queueLimit: integer("queueLimit", options.queueLimit, 0, 1_000_000),
    limitRequestBody: integer("limitRequestBody", options.limitRequestBody, 0, Number.MAX_SAFE_INTEGER),
    timeout: integer("timeout", options.timeout, 1, 86400),
    keepAliveTimeout: integer("keepAliveTimeout", options.keepAliveTimeout, 0, 86400),
    maxConnections: integer("maxConnections", options.maxConnections, 0, 1_000_000),
    importScripts: (options.importScripts ?? []).map((s) => ({ script: resolve(cwd, s.script), applicationGroup: s.applicationGroup })),
    applicationGroup: options.applicationGroup,
    callableObject: options.callableObject,
    passAuthorization: options.passAuthorization ?? false,
    trustedProxies: trustProxy,
    trustedProxyHeaders: [],
    directives: [],
    serverStatus: status ? (status.path ?? "/server-status").replace(/\/+$/, "") : undefined,
    serverStatusAllow: status?.allow ?? [],
  };
}

/** The ServerConfig the CLI would run for the same flags. */
export function serverConfig(options: ServerOptions): ServerConfig {
  const flags = optionsToFlags(options);
  const diagnostics = new Diagnostics();
  try {
    const plan = servePlan(siteFromFlags(flags, diagnostics), hostname(), diagnostics);
    if (diagnostics.warnings.length) throw new ConfigurationError(diagnostics.warnings.map(formatWarning).join("; "));
    return withConnectionFlags(plan.config, flags);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigurationError(error.message);
    throw error;
  }
}
