// The command line as a site model: alone it describes one host (the main server) with its routes;
// with --config, the file describes the site and the process-wide flags override it.
import { DEFAULTS } from "../config.ts";
import type { Flags } from "../cli/args.ts";
import { STANDARD_FORMATS } from "./apache/directives-log.ts";
import { parseConfig } from "./apache/parser.ts";
import { buildSite, isKnownDirective, isKnownSection } from "./apache/to-site.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { defaultProcessSettings } from "./apache/context.ts";
import { emptyVhost, type CustomLog, type ProcessSettings, type Site, type VirtualHost } from "./site.ts";

const COMBINED = STANDARD_FORMATS.find(([name]) => name === "combined")![1];

/** --access-log: a file, or "-" for stdout, in Combined Log Format. */
function accessLog(target: string): CustomLog {
  return { target, format: COMBINED, nickname: "combined" };
}

export function siteFromFlags(flags: Flags, diagnostics: Diagnostics): Site {
  if (flags.config !== undefined) {
    const parsed = parseConfig(flags.config, { defines: flags.defines, diagnostics, isKnownDirective, isKnownSection });
    return overrideSite(buildSite(parsed, diagnostics), flags);
  }
  const main = emptyVhost();
  main.serverName = flags.serverName;
  main.wsgiRoutes = flags.aliases.map((alias) => ({
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
  main.settings.applicationGroup = flags.applicationGroup;
  main.settings.callableObject = flags.callableObject;
  if (flags.passAuthorization) main.settings.passAuthorization = true;
  const site: Site = {
    listeners: [{ host: DEFAULTS.host, port: DEFAULTS.port, protocol: "http" }],
    main,
    vhosts: [],
    embedded: defaultProcessSettings(),
    daemons: flags.daemons.map((daemon) => ({ name: daemon.name, options: daemon.options, settings: daemon.settings, unimplemented: [] })),
    importScripts: flags.importScripts.map((script) => ({ ...script, processGroup: script.processGroup ?? "%{GLOBAL}" })),
    restrictEmbedded: false,
    connection: {},
    files: [],
  };
  if (flags.httpsPort !== undefined) {
    // `Listen N https` with the certificate on the listener: the main server answers on both ports.
    site.listeners.push({
      host: flags.host ?? DEFAULTS.host,
      port: flags.httpsPort,
      protocol: "https",
      tls: { certificateFile: flags.sslCertificateFile!, keyFile: flags.sslCertificateKeyFile!, chainFile: flags.sslCertificateChainFile },
    });
  }
  // On the command line --threads, --processes... describe the embedded group: a --daemon-process says its own.
  return overrideSite(site, flags, false);
}

/**
 * The process-wide flags win over what the site says, for every host and, over a configuration file,
 * for every process group (`daemons`), else for the embedded group only.
 */
function overrideSite(site: Site, flags: Flags, daemons = true): Site {
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
  for (const vhost of [site.main, ...site.vhosts]) overrideHost(vhost, flags);
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

function overrideHost(vhost: VirtualHost, flags: Flags): void {
  if (flags.errorLog !== undefined) vhost.errorLog = flags.errorLog;
  if (flags.logLevel !== undefined) vhost.logLevel = flags.logLevel;
  if (flags.accessLog !== undefined) vhost.customLogs = [accessLog(flags.accessLog)];
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
}
