// Questions the server asks of a site model: which virtual hosts take a port's connections, which
// per-directory settings apply to a URL and file (httpd's merge order), and what a WSGI route resolves to.
import { basename, dirname } from "node:path";
import { DEFAULTS } from "../config.ts";
import { regex } from "../http/site/url-map.ts";
import { componentMatcher } from "./apache/include.ts";
import type { Access, DirSettings, OptionsChange, Section, Site, VirtualHost, WsgiRoute } from "./site.ts";

/** Later (more specific) settings override earlier ones; SetEnv, SetEnvIf, Header, RequestHeader and section Redirects add up. */
export function mergeSettings(base: DirSettings, over: DirSettings): DirSettings {
  return {
    options: mergeOptions(base.options, over.options),
    access: over.access ?? base.access, // AuthMerging Off: a section's Require replaces what it inherits
    auth: over.auth && base.auth ? { ...base.auth, ...over.auth } : over.auth ?? base.auth,
    directoryIndex: over.directoryIndex ?? base.directoryIndex,
    handler: over.handler ?? base.handler,
    addHandlers: base.addHandlers || over.addHandlers ? { ...base.addHandlers, ...over.addHandlers } : undefined,
    applicationGroup: over.applicationGroup ?? base.applicationGroup,
    processGroup: over.processGroup ?? base.processGroup,
    callableObject: over.callableObject ?? base.callableObject,
    passAuthorization: over.passAuthorization ?? base.passAuthorization,
    scriptReloading: over.scriptReloading ?? base.scriptReloading,
    chunkedRequest: over.chunkedRequest ?? base.chunkedRequest,
    serverSignature: over.serverSignature ?? base.serverSignature,
    trustedProxies: over.trustedProxies ?? base.trustedProxies,
    trustedProxyHeaders: over.trustedProxyHeaders ?? base.trustedProxyHeaders,
    limitRequestBody: over.limitRequestBody ?? base.limitRequestBody,
    setEnv: [...base.setEnv, ...over.setEnv],
    setEnvIf: base.setEnvIf || over.setEnvIf ? [...(base.setEnvIf ?? []), ...(over.setEnvIf ?? [])] : undefined,
    headers: [...base.headers, ...over.headers],
    requestHeaders: base.requestHeaders || over.requestHeaders ? [...(base.requestHeaders ?? []), ...(over.requestHeaders ?? [])] : undefined,
    redirects: base.redirects || over.redirects ? [...(base.redirects ?? []), ...(over.redirects ?? [])] : undefined,
    errorDocuments: base.errorDocuments || over.errorDocuments ? { ...base.errorDocuments, ...over.errorDocuments } : undefined,
    sources: { ...base.sources, ...over.sources },
  };
}

/** Options edits in order: an absolute list replaces, +X/-X edit what came before. */
export function mergeOptions(base: OptionsChange | undefined, over: OptionsChange | undefined): OptionsChange | undefined {
  if (!base || !over) return over ?? base;
  if (over.replace) return over;
  const add = [...base.add.filter((o) => !over.remove.includes(o)), ...over.add];
  const remove = [...base.remove.filter((o) => !over.add.includes(o)), ...over.remove];
  return { replace: base.replace, add, remove, source: over.source };
}

const ALL_OPTIONS = ["Indexes", "FollowSymLinks", "SymLinksIfOwnerMatch", "ExecCGI", "Includes"];

/** The options in force: httpd 2.4's default is FollowSymLinks. */
export function effectiveOptions(change: OptionsChange | undefined): Set<string> {
  const expand = (names: string[]) => names.flatMap((name) => (name === "All" ? ALL_OPTIONS : name === "None" ? [] : [name]));
  const options = new Set(change?.replace ? expand(change.replace) : ["FollowSymLinks"]);
  if (change) {
    for (const name of expand(change.add)) options.add(name);
    for (const name of change.remove) {
      if (name === "All") ALL_OPTIONS.forEach((o) => options.delete(o));
      else options.delete(name);
    }
  }
  return options;
}

export type AccessVerdict = "granted" | "denied" | "restricted";

/** Without any Require, httpd 2.4 grants access; several Require lines grant if any one does (a container: restricted). */
export function accessVerdict(access: Access | undefined): AccessVerdict {
  if (!access) return "granted";
  if (access.rules.some((rule) => rule.kind === "all" && rule.granted && !rule.negated)) return "granted";
  if (access.rules.every((rule) => (rule.kind === "all" && !rule.granted) || rule.kind === "unsupported")) return "denied";
  return "restricted";
}

/** Does a <Location> path cover a URL path? On segment boundaries; a trailing slash in it requires one. */
export function locationCovers(pattern: string, path: string): boolean {
  if (pattern === "/") return true;
  if (/[*?[]/.test(pattern)) {
    const parts = pattern.split("/");
    const pathParts = path.split("/");
    if (pathParts.length < parts.length) return false;
    return parts.every((part, i) => (part === "" ? pathParts[i] === "" : componentMatcher(part)(pathParts[i]!)));
  }
  if (!path.startsWith(pattern)) return false;
  return pattern.endsWith("/") || path.length === pattern.length || path[pattern.length] === "/";
}

/** Does a <Directory> path (maybe with wildcards) cover a directory? It and everything below it. */
function directoryCovers(pattern: string, dir: string): boolean {
  if (pattern === "/") return true;
  const parts = pattern.split("/").filter((p) => p !== "");
  const dirParts = dir.split("/").filter((p) => p !== "");
  if (dirParts.length < parts.length) return false;
  return parts.every((part, i) => (/[*?[]/.test(part) ? componentMatcher(part)(dirParts[i]!) : part === dirParts[i]));
}

function sectionMatches(section: Section, url: string, file: string | undefined): boolean {
  switch (section.kind) {
    case "location":
      return section.regex ? regex(section.pattern).test(url) : locationCovers(section.pattern, url);
    case "directory": {
      if (file === undefined) return false;
      const dir = file.endsWith("/") ? file.slice(0, -1) || "/" : dirname(file);
      return section.regex ? regex(section.pattern).test(dir + "/") : directoryCovers(section.pattern, dir);
    }
    case "files": {
      if (file === undefined || file.endsWith("/")) return false;
      if (section.parent && !sectionMatches(section.parent, url, file)) return false;
      const name = basename(file);
      return section.regex ? regex(section.pattern).test(name) : componentMatcher(section.pattern)(name);
    }
  }
}

const ordered = new WeakMap<VirtualHost, Section[]>();

/** httpd's order: <Directory> shortest path first, then <DirectoryMatch>, then <Files*>, then <Location*>; sorted once per host. */
function orderedSections(vhost: VirtualHost): Section[] {
  let sections = ordered.get(vhost);
  if (!sections) ordered.set(vhost, (sections = sortSections(vhost)));
  return sections;
}

function sortSections(vhost: VirtualHost): Section[] {
  const depth = (s: Section) => (s.pattern === "/" ? 0 : s.pattern.split("/").filter(Boolean).length);
  const directories = vhost.sections.filter((s) => s.kind === "directory" && !s.regex).sort((a, b) => depth(a) - depth(b));
  return [
    ...directories,
    ...vhost.sections.filter((s) => s.kind === "directory" && s.regex),
    ...vhost.sections.filter((s) => s.kind === "files"),
    ...vhost.sections.filter((s) => s.kind === "location"),
  ];
}

/** Per host, the merged settings of each set of sections met so far (keyed by their indices). */
const merged = new WeakMap<VirtualHost, Map<string, DirSettings>>();
/** Requests choose which sets are met: past this many, merges are made and not kept. */
const MERGED_LIMIT = 256;

/**
 * The settings for a request: the host's defaults edited by every section that applies, in order.
 * The same sections give the same object (not to be edited), so what is compiled from it once
 * (access checks, Header rules, a route's settings) is found again by identity.
 */
export function settingsFor(vhost: VirtualHost, url: string, file?: string): DirSettings {
  const sections = orderedSections(vhost);
  let key = "";
  for (let i = 0; i < sections.length; i++) if (sectionMatches(sections[i]!, url, file)) key += `${i},`;
  if (key === "") return vhost.settings;
  let cache = merged.get(vhost);
  if (!cache) merged.set(vhost, (cache = new Map()));
  let settings = cache.get(key);
  if (settings) return settings;
  settings = vhost.settings;
  for (const index of key.split(",")) if (index !== "") settings = mergeSettings(settings, sections[Number(index)]!.settings);
  if (cache.size < MERGED_LIMIT) cache.set(key, settings);
  return settings;
}

/** AddHandler or SetHandler wsgi-script anywhere in the host: its files may be WSGI scripts. */
export function hasWsgiHandlers(vhost: VirtualHost): boolean {
  return [vhost.settings, ...vhost.sections.map((section) => section.settings)]
    .some((settings) => settings.handler === "wsgi-script" || Object.values(settings.addHandlers ?? {}).includes("wsgi-script"));
}

/** mod_status's <Location PATH>s (SetHandler server-status) of a host: PATH without a trailing slash. */
export function statusLocations(vhost: VirtualHost): string[] {
  return vhost.sections
    .filter((section) => section.kind === "location" && !section.regex && section.settings.handler === "server-status")
    .map((section) => (section.pattern.length > 1 ? section.pattern.replace(/\/+$/, "") || "/" : section.pattern));
}

/** Sections that apply to part of a route only: a deeper <Location>, any <LocationMatch>, a deeper <Directory>. */
export function sectionsInside(vhost: VirtualHost, route: WsgiRoute): Section[] {
  return vhost.sections.filter((section) => {
    // The status page answers every path of its <Location> before any route: none of them reaches the route.
    if (section.settings.handler === "server-status" && section.kind === "location" && !section.regex) return false;
    if (section.kind === "location") {
      if (section.regex) return route.match === "regex" || new RegExp(section.pattern).test(route.url + "/x") && !new RegExp(section.pattern).test(route.url);
      return route.match === "prefix" && section.pattern !== route.url && locationCovers(route.url, section.pattern) && !locationCovers(section.pattern, route.url);
    }
    if (!route.directory) return false;
    if (section.kind === "files") return !section.parent || directoryCovers(section.parent.pattern, route.target);
    return !section.regex && section.pattern !== route.target && directoryCovers(route.target, section.pattern);
  });
}

export interface ResolvedRoute {
  route: WsgiRoute;
  /** "%{GLOBAL}" (embedded) or a WSGIDaemonProcess name. */
  processGroup: string;
  /**
   * Other process groups that part of the route runs in: named by WSGIProcessGroup in a section inside
   * it (a deeper <Location>...), which applies to the requests under it as in mod_wsgi. Empty when the
   * route names its own group (process-group=), which no section overrides.
   */
  groupsInside: string[];
  applicationGroup: string;
  callableObject: string;
  passAuthorization: boolean;
  /** The application group's interpreters: above 1, each with its own GIL (WsgiRoute.parallelInterpreters). */
  parallelInterpreters: number;
  reload: boolean;
  settings: DirSettings;
}

export function resolveRoute(vhost: VirtualHost, route: WsgiRoute): ResolvedRoute {
  const url = route.match === "prefix" ? route.url : "/";
  const settings = settingsFor(vhost, url, route.directory ? route.target.replace(/\/?$/, "/") : route.target);
  const processGroup = route.processGroup ?? settings.processGroup ?? "%{GLOBAL}";
  const inside = route.processGroup === undefined ? sectionsInside(vhost, route).map((section) => section.settings.processGroup) : [];
  return {
    route,
    processGroup,
    groupsInside: [...new Set(inside.filter((group): group is string => group !== undefined && group !== processGroup))],
    applicationGroup: route.applicationGroup ?? settings.applicationGroup ?? DEFAULTS.applicationGroup,
    callableObject: route.callableObject ?? settings.callableObject ?? DEFAULTS.callableObject,
    passAuthorization: route.passAuthorization ?? settings.passAuthorization ?? false,
    parallelInterpreters: route.parallelInterpreters ?? DEFAULTS.parallelInterpreters,
    reload: settings.scriptReloading ?? true,
    settings,
  };
}

/** The virtual hosts that take connections on a port, in order: the first is that port's default. */
export function vhostsOnPort(site: Site, port: number): VirtualHost[] {
  return site.vhosts.filter((vhost) => vhost.addresses.some((address) => address.port === "*" || address.port === port));
}

export function vhostNames(vhost: VirtualHost): string[] {
  return [...(vhost.serverName ? [vhost.serverName] : []), ...vhost.serverAliases];
}
