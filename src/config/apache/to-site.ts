// From the parsed directive tree to the site model: each directive checked for where it stands and
// how many arguments it has, then applied; sections become per-directory rules; virtual hosts then
// inherit what the main server says (httpd's merge). Unknown directives and sections are reported.
import { dirname } from "node:path";
import { DEFAULTS } from "../../config.ts";
import { ConfigError, type Diagnostics, type Source } from "../diagnostics.ts";
import { mergeSettings } from "../resolve.ts";
import { emptySettings, emptyVhost, type Listener, type Section, type Site, type VirtualHost } from "../site.ts";
import { defaultProcessSettings, pathArg, regexArg, SECTIONS, type DirectiveSpec, type SiteDraft, type Walk, type Where } from "./context.ts";
import { ALIAS_DIRECTIVES } from "./directives-alias.ts";
import { AUTH_DIRECTIVES } from "./directives-auth.ts";
import { CORE_DIRECTIVES, parseVhostAddress } from "./directives-core.ts";
import { LOG_DIRECTIVES, STANDARD_FORMATS } from "./directives-log.ts";
import { SSL_DIRECTIVES } from "./directives-ssl.ts";
import { REWRITE_DIRECTIVES } from "./directives-rewrite.ts";
import { SETENVIF_DIRECTIVES } from "./directives-setenvif.ts";
import { WSGI_DIRECTIVES } from "./directives-wsgi.ts";
import type { ConfigNode, ParsedConfig, SectionNode } from "./parser.ts";
import { containerOp, openRequireContainer } from "./require-sections.ts";

const DIRECTIVES = new Map<string, DirectiveSpec>(
  [...CORE_DIRECTIVES, ...AUTH_DIRECTIVES, ...ALIAS_DIRECTIVES, ...REWRITE_DIRECTIVES, ...SETENVIF_DIRECTIVES, ...LOG_DIRECTIVES, ...WSGI_DIRECTIVES, ...SSL_DIRECTIVES].map((spec) => [spec.name.toLowerCase(), spec]),
);
/** Read by the parser itself. */
const PARSER_DIRECTIVES = ["Define", "UnDefine", "Include", "IncludeOptional"];
const SECTION_NAMES = ["VirtualHost", "Directory", "DirectoryMatch", "Files", "FilesMatch", "Location", "LocationMatch",
  "IfDefine", "IfModule", "IfFile", "IfDirective", "IfSection"];

export function isKnownDirective(name: string): boolean {
  return DIRECTIVES.has(name.toLowerCase()) || PARSER_DIRECTIVES.some((known) => known.toLowerCase() === name.toLowerCase());
}

export function isKnownSection(name: string): boolean {
  return SECTION_NAMES.some((known) => known.toLowerCase() === name.toLowerCase());
}

const PLACE: Record<Where, string> = {
  server: "at server level (outside any section)",
  vhost: "inside <VirtualHost>",
  directory: "inside <Directory>",
  files: "inside <Files>",
  location: "inside <Location>",
};

/** What to say about directives people commonly carry over from Apache 2.2. */
const HINTS: Record<string, string> = {
  order: "mod_access_compat is not implemented by wsgi-bin: ignored (access is NOT restricted by it; use Require)",
  allow: "mod_access_compat is not implemented by wsgi-bin: ignored (access is NOT restricted by it; use Require)",
  deny: "mod_access_compat is not implemented by wsgi-bin: ignored (access is NOT restricted by it; use Require)",
  authmerging: "not implemented by wsgi-bin: ignored (a section's Require lines replace those it inherits, as with AuthMerging Off: with And, access here is LESS restricted than in Apache; repeat the inherited lines in a <RequireAll>)",
  namevirtualhost: "has no effect since Apache 2.4: ignored",
  sslprotocol: "wsgi-bin's TLS (Bun's BoringSSL) offers TLS 1.2 and 1.3 only, whatever this says: ignored",
  sslciphersuite: "wsgi-bin's TLS uses BoringSSL's own cipher list: ignored",
  sslhonorcipherorder: "wsgi-bin's TLS uses BoringSSL's own cipher list: ignored",
  rewriteoptions: "not implemented by wsgi-bin: ignored (a virtual host never inherits the main server's RewriteRules)",
  rewritebase: "not implemented by wsgi-bin (per-directory rewriting is not): ignored",
  rewritemap: "not implemented by wsgi-bin: ignored (${map:...} lookups read as empty)",
};

/** One directive where it stands: its place and argument count checked, then applied (also for a command-line flag's). */
export function applyDirective(walk: Walk, name: string, args: string[], source: Source): void {
  const spec = DIRECTIVES.get(name.toLowerCase());
  if (!spec) {
    walk.diagnostics.warn(source, `${name}: ${HINTS[name.toLowerCase()] ?? "not implemented by wsgi-bin: ignored"}`);
    return;
  }
  if (!spec.where.includes(walk.where)) {
    const allowed = spec.where.map((where) => PLACE[where]).join(" or ");
    throw new ConfigError(source, `${spec.name} is not allowed ${PLACE[walk.where]}; it belongs ${allowed}`);
  }
  const [min, max] = spec.args;
  if (args.length < min || args.length > max) {
    const count = min === max ? `${min} argument${min === 1 ? "" : "s"}` : max === Infinity ? `at least ${min} argument${min === 1 ? "" : "s"}` : `${min} to ${max} arguments`;
    throw new ConfigError(source, `${spec.name} takes ${count} (${spec.name} ${spec.usage}), got ${args.length}: ${args.join(" ")}`);
  }
  spec.apply(walk, args, source);
  if (spec.where.includes("directory")) walk.settings.sources[spec.name] = source;
}

function countDirectives(nodes: ConfigNode[]): number {
  return nodes.reduce((n, node) => n + (node.kind === "directive" ? 1 : countDirectives(node.children)), 0);
}

function openSection(walk: Walk, node: SectionNode): void {
  const lower = node.name.toLowerCase();
  const { source } = node;
  const refuse = (allowed: Where[]) => {
    if (!allowed.includes(walk.where)) {
      throw new ConfigError(source, `<${node.name}> cannot occur ${PLACE[walk.where]}; it belongs ${allowed.map((w) => PLACE[w]).join(" or ")}`);
    }
  };
  if (lower === "virtualhost") {
    refuse(["server"]);
    if (node.args.length === 0) throw new ConfigError(source, "<VirtualHost> needs at least one address, as in <VirtualHost *:80>");
    const vhost: VirtualHost = { ...emptyVhost(), addresses: node.args.map((arg) => parseVhostAddress(arg, source)), source };
    walk.draft.vhosts.push(vhost);
    walkNodes(node.children, { ...walk, where: "vhost", vhost, settings: vhost.settings, section: undefined });
    return;
  }
  const op = containerOp(lower);
  if (op) {
    refuse(SECTIONS);
    return openRequireContainer(walk, op, node.args, source, (inner) => walkNodes(node.children, inner));
  }
  const kinds: Record<string, Section["kind"]> = {
    directory: "directory", directorymatch: "directory", files: "files", filesmatch: "files", location: "location", locationmatch: "location",
  };
  const kind = kinds[lower];
  if (!kind) {
    walk.diagnostics.warn(source, `<${node.name}> sections are not implemented by wsgi-bin: the ${countDirectives(node.children)} directives inside are ignored`);
    return;
  }
  refuse(kind === "files" ? ["server", "vhost", "directory"] : ["server", "vhost"]);
  const tilde = node.args[0] === "~";
  const args = tilde ? node.args.slice(1) : node.args;
  if (args.length !== 1) throw new ConfigError(source, `<${node.name}> takes one argument${tilde ? " after ~" : ""}, got ${args.length}`);
  const regex = tilde || lower.endsWith("match");
  let pattern = args[0]!;
  if (regex) regexArg(`<${node.name}>`, pattern, source);
  else if (kind === "directory") {
    pattern = pathArg(walk, pattern, source);
    if (pattern.length > 1) pattern = pattern.replace(/\/+$/, "");
  } else if (kind === "location" && !pattern.startsWith("/")) {
    throw new ConfigError(source, `<${node.name}>: the URL-path must start with '/', got '${pattern}'`);
  }
  const section: Section = { kind, pattern, regex, parent: walk.where === "directory" ? walk.section : undefined, settings: emptySettings(), source };
  walk.vhost.sections.push(section);
  walkNodes(node.children, { ...walk, where: kind, section, settings: section.settings });
}

function walkNodes(nodes: ConfigNode[], walk: Walk): void {
  for (const node of nodes) {
    if (node.kind === "section") openSection(walk, node);
    else applyDirective(walk, node.name, node.args, node.source);
  }
}

/** A virtual host as it serves: its own settings over the main server's (httpd's server merge). */
function inherit(main: VirtualHost, own: VirtualHost): VirtualHost {
  return {
    addresses: own.addresses,
    serverName: own.serverName ?? main.serverName,
    serverAliases: own.serverAliases,
    documentRoot: own.documentRoot ?? main.documentRoot,
    documentRootSource: own.documentRoot ? own.documentRootSource : main.documentRootSource,
    serverAdmin: own.serverAdmin ?? main.serverAdmin,
    wsgiRoutes: [...own.wsgiRoutes, ...main.wsgiRoutes],
    staticMappings: [...own.staticMappings, ...main.staticMappings],
    redirects: [...own.redirects, ...main.redirects],
    // A virtual host does not inherit the main server's rules, nor its RewriteEngine (without RewriteOptions Inherit).
    rewrites: own.rewrites,
    rewriteEngine: own.rewriteEngine,
    settings: mergeSettings(main.settings, own.settings),
    sections: [...main.sections, ...own.sections],
    errorLog: own.errorLog ?? main.errorLog,
    logLevel: own.logLevel ?? main.logLevel,
    customLogs: own.customLogs.length ? own.customLogs : main.customLogs,
    traceEnable: own.traceEnable ?? main.traceEnable,
    ssl: main.ssl || own.ssl ? { ...main.ssl, ...own.ssl } : undefined,
    source: own.source,
  };
}

/** Without Listen, listen where the virtual hosts say (their ports), else on the default port. */
function implicitListeners(vhosts: VirtualHost[]): Listener[] {
  const ports = new Set<number>();
  for (const vhost of vhosts) for (const address of vhost.addresses) if (address.port !== "*") ports.add(address.port);
  if (ports.size === 0) ports.add(DEFAULTS.port);
  return [...ports].map((port) => ({ host: DEFAULTS.host, port, protocol: port === 443 ? "https" : "http" }));
}

/** Process groups that routes, sections and import scripts name must be defined. */
function checkProcessGroups(draft: SiteDraft, diagnostics: Diagnostics): void {
  const known = new Set(draft.daemons.map((daemon) => daemon.name));
  const check = (group: string | undefined, source: Source | undefined, what: string) => {
    if (group !== undefined && group !== "%{GLOBAL}" && !known.has(group)) {
      diagnostics.warn(source, `${what} names process group '${group}', which no WSGIDaemonProcess defines (mod_wsgi answers 500 there)`);
    }
  };
  for (const vhost of [draft.main, ...draft.vhosts]) {
    for (const route of vhost.wsgiRoutes) check(route.processGroup, route.source, `WSGIScriptAlias ${route.url}`);
    check(vhost.settings.processGroup, vhost.source, "WSGIProcessGroup");
    for (const section of vhost.sections) check(section.settings.processGroup, section.source, `WSGIProcessGroup in <${section.kind}>`);
  }
  for (const script of draft.importScripts) check(script.processGroup, script.source, `WSGIImportScript ${script.script}`);
}

/** A site with nothing in it yet, for directives to build. */
export function emptyDraft(): SiteDraft {
  return {
    listeners: [], main: emptyVhost(), vhosts: [], embedded: defaultProcessSettings(), daemons: [], importScripts: [], restrictEmbedded: false,
    connection: {}, formats: new Map(STANDARD_FORMATS),
  };
}

export function buildSite(parsed: ParsedConfig, diagnostics: Diagnostics): Site {
  const draft = emptyDraft();
  const main = draft.main;
  const base = (source: Source) => parsed.serverRoot ?? dirname(source.file);
  walkNodes(parsed.nodes, { draft, where: "server", vhost: main, settings: main.settings, diagnostics, base });
  checkProcessGroups(draft, diagnostics);
  const vhosts = draft.vhosts.map((vhost) => inherit(main, vhost));
  return {
    listeners: draft.listeners.length ? draft.listeners : implicitListeners(vhosts),
    main,
    vhosts,
    embedded: draft.embedded,
    // A group defined in a <VirtualHost> logs as that host does once it inherits the main server's ErrorLog.
    daemons: draft.daemons.map((daemon) => (daemon.host ? { ...daemon, host: vhosts[draft.vhosts.indexOf(daemon.host)] } : daemon)),
    importScripts: draft.importScripts,
    restrictEmbedded: draft.restrictEmbedded,
    connection: draft.connection,
    files: parsed.files,
  };
}
