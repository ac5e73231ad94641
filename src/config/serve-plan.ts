// What one server process runs of a site model: every listener (with its certificate when it speaks
// TLS), the virtual hosts taking each listener's connections (its default first), their WSGI routes
// (each with the process group that runs it: the embedded one, in the processes on the ports, or a
// WSGIDaemonProcess group, in processes of its own), and the settings of every process group. What the
// site says that this leaves out is reported here, one warning each, never dropped.
import { DEFAULTS, type DaemonGroupConfig, type ImportScript, type ServerConfig } from "../config.ts";
import { connectionLimits } from "../http/wire/limits.ts";
import { compileLogFormat } from "../log/log-format.ts";
import { ConfigError, type Diagnostics } from "./diagnostics.ts";
import { resolveRoute, statusLocations, vhostsOnPort, type ResolvedRoute } from "./resolve.ts";
import { displayName } from "./daemon-options.ts";
import { serverBanner } from "../version.ts";
import { hostName, type CustomLog, type DaemonProcess, type Listener, type Site, type TlsFiles, type VirtualHost } from "./site.ts";

/** A virtual host as this process serves it. */
export interface PlannedHost {
  vhost: VirtualHost;
  /** Its ServerName (inherited, else the machine's name): SERVER_NAME without a Host, and %{SERVER}/%{RESOURCE}. */
  serverName: string;
  /** The WSGI routes that run here, in declaration order (the host's own, then the main server's). */
  routes: ResolvedRoute[];
  /** Its access logs (its CustomLogs, else the main server's), each written in its own format. */
  accessLogs: CustomLog[];
  /** mod_ssl is on for it (SSLEngine on, or --https-port's host): SSL_TLS_SNI, and which hosts a TLS connection may move between. */
  sslEngine: boolean;
}

export interface PlannedListener extends Listener {
  /** The certificate it presents: --https-port's, or the SSL files of the default virtual host on its port. */
  tls?: TlsFiles;
  /** The hosts taking its connections, chosen by Host: its port's virtual hosts (the first is the default), else the main server. */
  hosts: PlannedHost[];
}

export interface ServePlan {
  config: ServerConfig;
  /** Every host some listener serves, once each. */
  hosts: PlannedHost[];
}

export function describeVhost(vhost: VirtualHost, site: Site): string {
  if (vhost === site.main) return "the main server";
  const addresses = vhost.addresses.map((a) => `${a.host}:${a.port}`).join(" ");
  return `<VirtualHost ${addresses}>${vhost.serverName ? ` ${vhost.serverName}` : ""}`;
}

/** Which routes can run: those whose process group exists and may be used. */
function servableRoutes(site: Site, vhost: VirtualHost, diagnostics: Diagnostics): ResolvedRoute[] {
  const routes: ResolvedRoute[] = [];
  const known = new Set(site.daemons.map((daemon) => daemon.name));
  for (const route of vhost.wsgiRoutes) {
    const name = `WSGIScriptAlias${route.match === "regex" ? "Match" : ""} ${route.url}`;
    const resolved = resolveRoute(vhost, route);
    if (resolved.processGroup !== "%{GLOBAL}" && !known.has(resolved.processGroup)) {
      diagnostics.warn(route.source, `${name}: process group '${resolved.processGroup}' is not defined: not served`);
      continue;
    }
    if (resolved.processGroup === "%{GLOBAL}" && site.restrictEmbedded) {
      diagnostics.warn(route.source, `${name}: WSGIRestrictEmbedded On forbids the embedded process group: not served`);
      continue;
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
    errorLog: (daemon.host ?? site.main).errorLog,
    logLevel: (daemon.host ?? site.main).logLevel ?? DEFAULTS.logLevel,
    user: settings.user,
    group: settings.group,
    gracefulTimeout: settings.gracefulTimeout,
    requestTimeout: settings.requestTimeout,
    maximumRequests: settings.maximumRequests,
    restartInterval: settings.restartInterval,
    queueTimeout: settings.queueTimeout,
    connectTimeout: settings.connectTimeout ?? DEFAULTS.connectTimeout,
    // A group's own, else the defaults (listen-backlog= mod_wsgi's; deadlock-timeout= off, see DEFAULTS):
    // the front's --deadlock-timeout and --queue-limit (ListenBacklog) are the embedded group's.
    deadlockTimeout: settings.deadlockTimeout ?? DEFAULTS.daemonDeadlockTimeout,
    queueLimit: settings.listenBacklog ?? DEFAULTS.daemonListenBacklog,
  };
}

/** The certificate a listener presents, from the default host on its port (as mod_ssl decides per address). */
function listenerTls(site: Site, listener: Listener, hosts: VirtualHost[], diagnostics: Diagnostics): TlsFiles | undefined {
  if (listener.tls) return listener.tls;
  const [first] = hosts;
  const where = `${listener.host}:${listener.port}`;
  const engine = first?.ssl?.engine === true;
  if (!engine) {
    if (listener.protocol === "https") {
      throw new ConfigError(listener.source, `Listen ${where} https: ${first === site.main ? "the main server" : describeVhost(first!, site)}, the default host on port ${listener.port}, has no SSLEngine on (with SSLCertificateFile and SSLCertificateKeyFile)`);
    }
    for (const other of hosts.slice(1)) {
      if (other.ssl?.engine) diagnostics.warn(other.ssl.source, `${describeVhost(other, site)}: SSLEngine on, but the default host on port ${listener.port} speaks plain HTTP, so this one does too (TLS is chosen per address, not per name)`);
    }
    return undefined;
  }
  const ssl = first!.ssl!;
  if (!ssl.certificateFile || !ssl.keyFile) {
    throw new ConfigError(ssl.source, `${describeVhost(first!, site)}: SSLEngine on needs SSLCertificateFile and SSLCertificateKeyFile`);
  }
  for (const other of hosts.slice(1)) {
    if (!other.ssl?.engine) {
      diagnostics.warn(other.source, `${describeVhost(other, site)}: no SSLEngine on, but port ${listener.port} speaks TLS (its default host has SSLEngine on): ` +
        "only a client naming it in SNI reaches it (over TLS, with the default host's certificate), others get 421 Misdirected Request, as in Apache");
    } else if (!other.ssl.certificateFile || !other.ssl.keyFile) {
      throw new ConfigError(other.ssl.source, `${describeVhost(other, site)}: SSLEngine on needs SSLCertificateFile and SSLCertificateKeyFile`);
    }
  }
  return { certificateFile: ssl.certificateFile, keyFile: ssl.keyFile, chainFile: ssl.chainFile };
}

/** Each host's access logs are its own (PlannedHost.accessLogs); what a format asks that wsgi-bin cannot know is said once. */
function reportLogs(hosts: VirtualHost[], diagnostics: Diagnostics): void {
  const reported = new Set<CustomLog>();
  for (const host of hosts) {
    for (const log of host.customLogs) {
      if (reported.has(log)) continue; // a virtual host shares the main server's
      reported.add(log);
      const { unsupported } = compileLogFormat(log.format);
      if (unsupported.length) diagnostics.warn(log.source, `CustomLog ${log.target}: ${unsupported.join(", ")}: trailers are not kept by wsgi-bin: written as "-"`);
    }
  }
}

export function servePlan(site: Site, hostname: string, diagnostics: Diagnostics): ServePlan {
  const planned = new Map<VirtualHost, PlannedHost>();
  const plan = (vhost: VirtualHost): PlannedHost => {
    let host = planned.get(vhost);
    if (!host) {
      host = { vhost, serverName: hostName(vhost, site, hostname), routes: servableRoutes(site, vhost, diagnostics), accessLogs: vhost.customLogs,
        sslEngine: Boolean(vhost.ssl?.engine) };
      planned.set(vhost, host);
    }
    return host;
  };
  const listeners: PlannedListener[] = site.listeners.map((listener) => {
    const onPort = vhostsOnPort(site, listener.port);
    const vhosts = onPort.length ? onPort : [site.main];
    const tls = listenerTls(site, listener, vhosts, diagnostics);
    const hosts = vhosts.map(plan);
    if (listener.tls) for (const host of hosts) host.sslEngine = true; // --https-port's certificate is its host's
    return { ...listener, tls, hosts };
  });
  for (const vhost of site.vhosts) {
    if (!planned.has(vhost)) diagnostics.warn(vhost.source, `${describeVhost(vhost, site)}: no Listen on its port, so it takes no requests (as in Apache)`);
  }
  const hosts = [...planned.values()];
  const defaultHost = listeners[0]!.hosts[0]!;

  // The embedded group's settings are the processes on the ports'; each WSGIDaemonProcess runs its own.
  const processes = site.embedded;
  const daemons = site.daemons.map((daemon) => daemonGroup(site, daemon));
  const groupOf = (group: string) => (group === "%{GLOBAL}" ? undefined : group);

  // Each route is held to its own LimitRequestBody (http/site/host-runtime.ts); this one is the
  // default host's, for what has no route (the library's in-process requests).
  const limit = defaultHost.vhost.settings.limitRequestBody ?? DEFAULTS.limitRequestBody;
  reportLogs(hosts.map((host) => host.vhost), diagnostics);

  const importScripts: ImportScript[] = [];
  for (const script of site.importScripts) {
    if (script.processGroup === "%{GLOBAL}" || daemons.some((daemon) => daemon.name === script.processGroup)) {
      importScripts.push({ script: script.script, applicationGroup: script.applicationGroup, processGroup: groupOf(script.processGroup) });
    } else diagnostics.warn(script.source, `WSGIImportScript ${script.script}: process group '${script.processGroup}' is not defined: not imported`);
  }
  // mod_wsgi preloads a script whose alias names both its process and application group.
  for (const r of defaultHost.routes) {
    if (r.route.match === "prefix" && !r.route.directory && r.route.processGroup !== undefined && r.route.applicationGroup !== undefined) {
      importScripts.push({ script: r.route.target, applicationGroup: r.applicationGroup, url: r.route.url, processGroup: groupOf(r.processGroup) });
    }
  }

  const vhost = defaultHost.vhost;
  const statusPaths = [...new Set(hosts.flatMap((host) => statusLocations(host.vhost)))];
  const config: ServerConfig = {
    listeners,
    host: listeners[0]!.host,
    port: listeners[0]!.port,
    threads: processes.threads,
    python: site.python,
    pythonHome: processes.pythonHome,
    pythonPath: processes.pythonPath,
    serverName: defaultHost.serverName,
    // The main server's error log: start-up, shutdown and process lines (each host's own take its requests').
    errorLog: site.main.errorLog,
    logLevel: site.main.logLevel ?? DEFAULTS.logLevel,
    accessLog: vhost.customLogs[0]?.target,
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
    ...connectionLimits(site.connection),
    user: site.connection.user,
    group: site.connection.group,
    queueLimit: site.connection.queueLimit ?? DEFAULTS.queueLimit,
    serverSoftware: serverBanner(site.connection.serverTokens),
    deadlockTimeout: DEFAULTS.deadlockTimeout,
    serverStatus: statusPaths.length ? { paths: statusPaths } : undefined,
  };
  return { config, hosts };
}

/** Does a host serve anything at all (a route, a static mapping, a redirect, a status page)? */
export function servesAnything(host: PlannedHost): boolean {
  const v = host.vhost;
  return host.routes.length > 0 || v.staticMappings.length > 0 || v.redirects.length > 0 || v.documentRoot !== undefined ||
    v.sections.some((section) => section.settings.redirects?.length) || statusLocations(v).length > 0;
}
