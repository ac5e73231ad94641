// The command line as a site model: alone it describes one host (the main server, or with
// --server-alias a name-based virtual host) with its routes; with --config, the file describes the
// site and the process-wide flags override it. Flags that stand for directives are applied as those
// directives (flag-directives.ts).
import { DEFAULTS } from "../config.ts";
import type { Flags } from "../cli/args.ts";
import { checkFormat, STANDARD_FORMATS } from "./apache/directives-log.ts";
import type { SiteDraft } from "./apache/context.ts";
import { parseConfig } from "./apache/parser.ts";
import { buildSite, emptyDraft, isKnownDirective, isKnownSection } from "./apache/to-site.ts";
import { ConfigError, flagSource, type Diagnostics } from "./diagnostics.ts";
import { applyDirectiveLines, statusLines, trustLines } from "./flag-directives.ts";
import { emptyVhost, type CustomLog, type ProcessSettings, type Site, type VirtualHost } from "./site.ts";

/** --access-log: a file, or "-" for stdout, in --access-log-format (a format, or a nickname Debian's Apache defines; combined by default). */
function accessLog(target: string, format = "combined"): CustomLog {
  const nicknamed = STANDARD_FORMATS.find(([name]) => name === format)?.[1];
  const source = flagSource("--access-log-format");
  if (nicknamed === undefined) checkFormat(format, source);
  return { target, format: nicknamed ?? format, nickname: nicknamed === undefined ? undefined : format, source };
}

export function siteFromFlags(flags: Flags, diagnostics: Diagnostics): Site {
  if (flags.config !== undefined) {
    const parsed = parseConfig(flags.config, { defines: flags.defines, diagnostics, isKnownDirective, isKnownSection });
    return overrideSite(buildSite(parsed, diagnostics), flags, diagnostics);
  }
  const draft = emptyDraft();
  const host = emptyVhost(); // the one host the command line describes
  host.serverName = flags.serverName;
  host.wsgiRoutes = flags.aliases.map((alias) => ({
    match: "prefix" as const,
    url: alias.url,
    target: alias.script,
    applicationGroup: alias.applicationGroup,
    callableObject: alias.callableObject,
    passAuthorization: alias.passAuthorization,
    processGroup: alias.processGroup,
    parallelInterpreters: alias.parallelInterpreters ?? flags.parallelInterpreters,
  }));
  // The defaults an alias's own options override: the directives at server level.
  host.settings.applicationGroup = flags.applicationGroup;
  host.settings.callableObject = flags.callableObject;
  if (flags.passAuthorization) host.settings.passAuthorization = true;
  if (flags.directives.some((line) => line.name === "ServerAlias")) {
    // Named, the host is mod_wsgi-express's name-based virtual host: a default one before it refuses
    // the requests that name neither its ServerName nor a ServerAlias.
    const refusing: VirtualHost = { ...emptyVhost(), addresses: [{ host: "*", port: "*" }] };
    host.addresses = [{ host: "*", port: "*" }];
    draft.main.serverName = flags.serverName;
    draft.vhosts.push(refusing, host);
    applyDirectiveLines(draft, refusing, [{ flag: "--server-alias", name: "Require", args: ["all", "denied"], place: { location: "/" } }], diagnostics);
  } else {
    draft.main = host;
  }
  applyDirectiveLines(draft, host, flags.directives, diagnostics);
  draft.listeners.push({ host: DEFAULTS.host, port: DEFAULTS.port, protocol: "http" });
  if (flags.httpsPort !== undefined) {
    // `Listen N https` with the certificate on the listener: the host answers on both ports.
    draft.listeners.push({
      host: flags.host ?? DEFAULTS.host,
      port: flags.httpsPort,
      protocol: "https",
      tls: { certificateFile: flags.sslCertificateFile!, keyFile: flags.sslCertificateKeyFile!, chainFile: flags.sslCertificateChainFile },
    });
  }
  const site: Site = {
    listeners: draft.listeners,
    main: draft.main,
    vhosts: draft.vhosts,
    embedded: draft.embedded,
    daemons: flags.daemons.map((daemon) => ({ name: daemon.name, options: daemon.options, settings: daemon.settings, unimplemented: [] })),
    importScripts: flags.importScripts.map((script) => ({ ...script, processGroup: script.processGroup ?? "%{GLOBAL}" })),
    restrictEmbedded: draft.restrictEmbedded,
    connection: draft.connection,
    files: [],
  };
  // On the command line --threads, --processes... describe the embedded group: a --daemon-process says its own.
  return overrideSite(site, flags, diagnostics, false);
}

/**
 * The process-wide flags win over what the site says, for every host and, over a configuration file,
 * for every process group (`daemons`), else for the embedded group only.
 */
function overrideSite(site: Site, flags: Flags, diagnostics: Diagnostics, daemons = true): Site {
  if (flags.accessLogFormat !== undefined && flags.accessLog === undefined) {
    throw new ConfigError(flagSource("--access-log-format"), "it is --access-log's format, and there is no --access-log");
  }
  if (flags.host !== undefined || flags.port !== undefined) {
    const first = site.listeners[0]!;
    const oldPort = first.port;
    site.listeners[0] = { ...first, host: flags.host ?? first.host, port: flags.port ?? first.port, source: undefined };
    // The virtual hosts on the moved listener's port move with it.
    if (flags.port !== undefined) {
      for (const vhost of site.vhosts) {
        vhost.addresses = vhost.addresses.map((a) => (a.port === oldPort ? { ...a, port: flags.port! } : a));
      }
    }
  }
  if (flags.python !== undefined) site.python = flags.python;
  const groups = daemons ? [site.embedded, ...site.daemons.map((daemon) => daemon.settings)] : [site.embedded];
  for (const settings of groups) overrideProcess(settings, flags);
  // The directive lines of the flags below apply to every host as a file's would (server-level lines aside).
  const draft: SiteDraft = { ...site, formats: new Map() };
  overrideMainLog(site, flags);
  for (const vhost of [site.main, ...site.vhosts]) overrideHost(draft, vhost, flags, diagnostics);
  return site;
}

function overrideProcess(settings: ProcessSettings, flags: Flags): void {
  if (flags.threads !== undefined) settings.threads = flags.threads;
  if (flags.processes !== undefined) settings.processes = flags.processes;
  if (flags.gracefulTimeout !== undefined) settings.gracefulTimeout = flags.gracefulTimeout;
  if (flags.requestTimeout !== undefined) settings.requestTimeout = flags.requestTimeout;
  if (flags.maximumRequests !== undefined) settings.maximumRequests = flags.maximumRequests;
  if (flags.restartInterval !== undefined) settings.restartInterval = flags.restartInterval;
  if (flags.queueTimeout !== undefined) settings.queueTimeout = flags.queueTimeout;
  if (flags.pythonHome !== undefined) settings.pythonHome = flags.pythonHome;
  settings.pythonPath = [...settings.pythonPath, ...flags.pythonPath];
}

/**
 * --error-log and --log-level are the main server's ErrorLog and LogLevel, as if written last at its
 * level (httpd's -E and -e name the main server's log too): the virtual hosts that inherit them follow,
 * those with their own keep theirs.
 */
function overrideMainLog(site: Site, flags: Flags): void {
  const { errorLog, logLevel } = site.main;
  for (const vhost of site.vhosts) {
    if (flags.errorLog !== undefined && vhost.errorLog === errorLog) vhost.errorLog = flags.errorLog;
    if (flags.logLevel !== undefined && vhost.logLevel === logLevel) vhost.logLevel = flags.logLevel;
  }
  if (flags.errorLog !== undefined) site.main.errorLog = flags.errorLog;
  if (flags.logLevel !== undefined) site.main.logLevel = flags.logLevel;
}

function overrideHost(draft: SiteDraft, vhost: VirtualHost, flags: Flags, diagnostics: Diagnostics): void {
  if (flags.accessLog !== undefined) vhost.customLogs = [accessLog(flags.accessLog, flags.accessLogFormat)];
  // Per-directory values too: the flag is meant for the whole process.
  const everywhere = [vhost.settings, ...vhost.sections.map((section) => section.settings)];
  if (flags.limitRequestBody !== undefined) {
    for (const settings of everywhere) delete settings.limitRequestBody;
    vhost.settings.limitRequestBody = flags.limitRequestBody;
  }
  if (flags.noReload) {
    for (const settings of everywhere) delete settings.scriptReloading;
    vhost.settings.scriptReloading = false;
  }
  const trust = trustLines(flags.trustedProxies, flags.trustedProxyHeaders);
  if (trust.length) {
    for (const settings of everywhere) {
      delete settings.trustedProxies;
      delete settings.trustedProxyHeaders;
    }
    applyDirectiveLines(draft, vhost, trust, diagnostics);
  }
  // mod_status's <Location PATH>, in every host (after the host's own sections: its Require is the one that applies).
  if (flags.serverStatus !== undefined) applyDirectiveLines(draft, vhost, statusLines(flags.serverStatus, flags.serverStatusAllow), diagnostics);
}
