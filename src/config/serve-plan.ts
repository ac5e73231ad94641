// Until the HTTP front serves whole sites (several virtual hosts, static files, redirects, TLS), the
// server runs the default virtual host's WSGI routes through today's ServerConfig. Everything the
// site says that this leaves out is reported here, one warning each, never dropped silently; routes
// the site restricts (Require other than "all granted") are left out rather than served to anyone.
import { DEFAULTS, type AliasConfig, type DaemonGroupConfig, type ImportScript, type ServerConfig } from "../config.ts";
import { WIRE_DEFAULTS } from "../http/wire/limits.ts";
import { STANDARD_FORMATS } from "./apache/directives-log.ts";
import type { Diagnostics, Source } from "./diagnostics.ts";
import { accessVerdict, defaultVhost, resolveRoute, sectionsInside, type ResolvedRoute } from "./resolve.ts";
import { displayName } from "./daemon-options.ts";
import { hostName, type DaemonProcess, type DirSettings, type Listener, type Site, type VirtualHost } from "./site.ts";

const COMBINED = STANDARD_FORMATS.find(([name]) => name === "combined")![1];
const NOT_YET = "parsed but not served by this version yet";

export interface ServePlan {
  config: ServerConfig;
  listener: Listener;
  vhost: VirtualHost;
  routes: ResolvedRoute[];
}

export function describeVhost(vhost: VirtualHost, site: Site): string {
  if (vhost === site.main) return "the main server";
  const addresses = vhost.addresses.map((a) => `${a.host}:${a.port}`).join(" ");
  return `<VirtualHost ${addresses}>${vhost.serverName ? ` ${vhost.serverName}` : ""}`;
}

/** The settings (of a host or one section) today's front does not act on. */
function unserved(settings: DirSettings): { what: string; source?: Source }[] {
  const items: { what: string; source?: Source }[] = [];
  for (const env of settings.setEnv) items.push({ what: `SetEnv ${env.name}`, source: env.source });
  for (const rule of settings.headers) items.push({ what: `Header ${rule.action} ${rule.name}`, source: rule.source });
  for (const rule of settings.redirects ?? []) items.push({ what: `Redirect ${rule.url}`, source: rule.source });
  if (settings.trustedProxies) items.push({ what: "WSGITrustedProxies", source: settings.sources.WSGITrustedProxies });
  if (settings.trustedProxyHeaders) items.push({ what: "WSGITrustedProxyHeaders", source: settings.sources.WSGITrustedProxyHeaders });
  if (settings.chunkedRequest === false) {
    items.push({ what: "WSGIChunkedRequest Off (chunked request bodies are accepted)", source: settings.sources.WSGIChunkedRequest });
  }
  return items;
}

function chooseListener(site: Site, diagnostics: Diagnostics): Listener {
  const listener = site.listeners.find((l) => l.protocol === "http") ?? site.listeners[0]!;
  for (const other of site.listeners) {
    if (other !== listener && listener.protocol === "http") diagnostics.warn(other.source, `Listen ${other.host}:${other.port}${other.protocol === "https" ? " https" : ""} is ${NOT_YET}: only ${listener.host}:${listener.port} is listened on`);
  }
  return listener;
}

/** Which routes can run: prefix aliases of one script whose access is "all granted" everywhere in them. */
function servableRoutes(site: Site, vhost: VirtualHost, diagnostics: Diagnostics): ResolvedRoute[] {
  const routes: ResolvedRoute[] = [];
  const known = new Set(site.daemons.map((daemon) => daemon.name));
  for (const route of vhost.wsgiRoutes) {
    const name = `WSGIScriptAlias${route.match === "regex" ? "Match" : ""} ${route.url}`;
    if (route.match === "regex") {
      diagnostics.warn(route.source, `${name}: regular-expression routes are ${NOT_YET}: not served`);
      continue;
    }
    if (route.directory) {
      diagnostics.warn(route.source, `${name}: a directory of scripts is ${NOT_YET}: not served`);
      continue;
    }
    const resolved = resolveRoute(vhost, route);
    const verdict = accessVerdict(resolved.settings.access);
    if (verdict !== "granted") {
      const where = resolved.settings.access?.source;
      diagnostics.warn(route.source, `${name}: access is ${verdict} (Require at ${where?.line ? `line ${where.line}` : "?"}); enforcing it is ${NOT_YET}, so the route is not served`);
      continue;
    }
    if (resolved.processGroup !== "%{GLOBAL}" && !known.has(resolved.processGroup)) {
      diagnostics.warn(route.source, `${name}: process group '${resolved.processGroup}' is not defined: not served`);
      continue;
    }
    if (resolved.processGroup === "%{GLOBAL}" && site.restrictEmbedded) {
      diagnostics.warn(route.source, `${name}: WSGIRestrictEmbedded On forbids the embedded process group: not served`);
      continue;
    }
    const inside = sectionsInside(vhost, route);
    const restricting = inside.filter((section) => section.settings.access && accessVerdict(section.settings.access) !== "granted");
    if (restricting.length) {
      const lines = restricting.map((s) => s.source?.line).join(", ");
      diagnostics.warn(route.source, `${name}: part of it has restricted access (sections at line ${lines}); enforcing that is ${NOT_YET}, so the route is not served`);
      continue;
    }
    for (const section of inside) {
      diagnostics.warn(section.source, `<${section.kind === "location" ? "Location" : section.kind === "files" ? "Files" : "Directory"} ${section.pattern}> applies to part of ${name} only: per-path settings inside a route are ${NOT_YET}; the route's own settings apply throughout`);
    }
    routes.push(resolved);
  }
  return routes;
}

/** A WSGIDaemonProcess as its processes run it. */
function daemonGroup(site: Site, daemon: DaemonProcess): DaemonGroupConfig {
  const settings = daemon.settings;
  return {
    name: daemon.name,
    processes: settings.processes,
    multiprocess: Boolean(settings.processesGiven) || settings.processes > 1,
    threads: settings.threads,
    python: settings.python ?? site.python,
    // WSGIPythonHome sets up Python for the whole server, daemons included (unless the group names its
    // own interpreter); WSGIPythonPath is embedded mode's.
    pythonHome: settings.pythonHome ?? (settings.python === undefined ? site.embedded.pythonHome : undefined),
    pythonPath: settings.pythonPath,
    home: settings.home,
    displayName: displayName(daemon.name, settings.displayName),
    user: settings.user,
    group: settings.group,
    gracefulTimeout: settings.gracefulTimeout,
    requestTimeout: settings.requestTimeout,
    maximumRequests: settings.maximumRequests,
    restartInterval: settings.restartInterval,
    queueTimeout: settings.queueTimeout,
    connectTimeout: settings.connectTimeout ?? DEFAULTS.connectTimeout,
  };
}

function reportStatic(site: Site, vhost: VirtualHost, diagnostics: Diagnostics): void {
  for (const mapping of vhost.staticMappings) {
    diagnostics.warn(mapping.source, `${mapping.kind === "alias" ? "Alias" : "AliasMatch"} ${mapping.url}: static files are ${NOT_YET}`);
  }
  if (vhost.documentRoot) diagnostics.warn(vhost.documentRootSource, `DocumentRoot ${vhost.documentRoot}: static files are ${NOT_YET}`);
  for (const redirect of vhost.redirects) diagnostics.warn(redirect.source, `Redirect${redirect.match === "regex" ? "Match" : ""} ${redirect.url}: redirects are ${NOT_YET}`);
  for (const settings of [vhost.settings, ...vhost.sections.map((section) => section.settings)]) {
    for (const item of unserved(settings)) diagnostics.warn(item.source, `${item.what} is ${NOT_YET}`);
  }
}

export function servePlan(site: Site, hostname: string, diagnostics: Diagnostics): ServePlan {
  const listener = chooseListener(site, diagnostics);
  const vhost = defaultVhost(site);
  for (const other of site.vhosts) {
    if (other === vhost) continue;
    const listened = site.listeners.some((l) => other.addresses.some((a) => a.port === "*" || a.port === l.port));
    if (!listened) diagnostics.warn(other.source, `${describeVhost(other, site)}: no Listen on its port, so it takes no requests (as in Apache)`);
    else diagnostics.warn(other.source, `${describeVhost(other, site)}: serving more than one virtual host is ${NOT_YET}: every request goes to ${describeVhost(vhost, site)}`);
  }
  const routes = servableRoutes(site, vhost, diagnostics);
  reportStatic(site, vhost, diagnostics);

  // The embedded group's settings are the front processes'; each WSGIDaemonProcess runs processes of its own.
  const processes = site.embedded;
  const daemons = site.daemons.map((daemon) => daemonGroup(site, daemon));
  const groupOf = (group: string) => (group === "%{GLOBAL}" ? undefined : group);
  const serverName = hostName(vhost, site, hostname);

  const reload = routes.length ? routes[0]!.reload : true;
  if (routes.some((r) => r.reload !== reload)) diagnostics.warn(undefined, `WSGIScriptReloading differs between routes: per-route reloading is ${NOT_YET}; ${reload ? "On" : "Off"} for all`);
  const limits = routes.map((r) => r.settings.limitRequestBody ?? vhost.settings.limitRequestBody ?? DEFAULTS.limitRequestBody);
  const limit = limits.length ? limits.reduce((a, b) => (a === 0 ? b : b === 0 ? a : Math.min(a, b))) : vhost.settings.limitRequestBody ?? DEFAULTS.limitRequestBody;
  if (new Set(limits).size > 1) diagnostics.warn(undefined, `LimitRequestBody differs between routes: per-route limits are ${NOT_YET}; ${limit || "no limit"} for all`);

  const [accessLog, ...otherLogs] = vhost.customLogs;
  if (accessLog && accessLog.format !== COMBINED) {
    diagnostics.warn(accessLog.source, `CustomLog ${accessLog.target}: formats other than combined are ${NOT_YET}: written in Combined Log Format`);
  }
  for (const log of otherLogs) diagnostics.warn(log.source, `CustomLog ${log.target}: more than one access log is ${NOT_YET}: not written`);

  const aliases: AliasConfig[] = routes.map((r) => ({
    url: r.route.url,
    script: r.route.target,
    applicationGroup: r.applicationGroup,
    callableObject: r.callableObject,
    passAuthorization: r.passAuthorization,
    processGroup: groupOf(r.processGroup),
  }));
  const importScripts: ImportScript[] = [];
  for (const script of site.importScripts) {
    if (script.processGroup === "%{GLOBAL}" || daemons.some((daemon) => daemon.name === script.processGroup)) {
      importScripts.push({ script: script.script, applicationGroup: script.applicationGroup, processGroup: groupOf(script.processGroup) });
    } else diagnostics.warn(script.source, `WSGIImportScript ${script.script}: process group '${script.processGroup}' is not defined: not imported`);
  }
  // mod_wsgi preloads a script whose alias names both its process and application group.
  for (const r of routes) {
    if (r.route.processGroup !== undefined && r.route.applicationGroup !== undefined) {
      importScripts.push({ script: r.route.target, applicationGroup: r.applicationGroup, url: r.route.url, processGroup: groupOf(r.processGroup) });
    }
  }

  const config: ServerConfig = {
    aliases,
    host: listener.host,
    port: listener.port,
    threads: processes.threads,
    python: site.python,
    pythonHome: processes.pythonHome,
    pythonPath: processes.pythonPath,
    reload,
    serverName,
    errorLog: vhost.errorLog,
    logLevel: vhost.logLevel ?? DEFAULTS.logLevel,
    accessLog: accessLog?.target,
    limitRequestBody: limit,
    processes: processes.processes,
    gracefulTimeout: processes.gracefulTimeout,
    requestTimeout: processes.requestTimeout,
    maximumRequests: processes.maximumRequests,
    restartInterval: processes.restartInterval,
    queueTimeout: processes.queueTimeout,
    importScripts,
    processGroup: "",
    daemons,
    // Connection limits: Apache's defaults; the flags override them (config/load.ts).
    trustedProxies: [],
    limitRequestLine: WIRE_DEFAULTS.limitRequestLine,
    limitRequestFields: WIRE_DEFAULTS.limitRequestFields,
    limitRequestFieldSize: WIRE_DEFAULTS.limitRequestFieldSize,
    timeout: WIRE_DEFAULTS.timeout,
    requestReadTimeout: WIRE_DEFAULTS.requestReadTimeout,
    keepAliveTimeout: WIRE_DEFAULTS.keepAliveTimeout,
    maxKeepAliveRequests: WIRE_DEFAULTS.maxKeepAliveRequests,
    maxConnections: WIRE_DEFAULTS.maxConnections,
    queueLimit: DEFAULTS.queueLimit,
    deadlockTimeout: DEFAULTS.deadlockTimeout,
  };
  return { config, listener, vhost, routes };
}
