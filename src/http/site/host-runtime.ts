// One virtual host as the front serves it: what a request path maps to, in Apache's order (mod_alias's
// Redirect*, then Alias/AliasMatch, then mod_wsgi's WSGIScriptAlias(Match), then DocumentRoot), and
// the per-request settings of a WSGI route (application group, callable, access, SetEnv, SetEnvIf,
// Header, RequestHeader), worked out once per route unless <Location>/<Directory> sections apply to
// part of it only; and which files mod_wsgi's handler (AddHandler wsgi-script) makes scripts.
import { realpathSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { DEFAULTS } from "../../config.ts";
import { componentMatcher } from "../../config/apache/include.ts";
import { ConfigError } from "../../config/diagnostics.ts";
import { effectiveOptions, hasWsgiHandlers, locationCovers, sectionsInside, settingsFor, statusLocations, vhostNames, type ResolvedRoute } from "../../config/resolve.ts";
import type { PlannedHost } from "../../config/serve-plan.ts";
import type { AuthScript, DirSettings, Redirect, StaticMapping, TlsFiles, VirtualHost, WsgiRoute } from "../../config/site.ts";
import type { AccessLog, FormattedLog } from "../../log/access-log.ts";
import type { ErrorLog } from "../../log/error-log.ts";
import { applicationGroupName } from "../aliases.ts";
import { type TrustedProxies, trustedProxiesFor } from "../trusted-proxies.ts";
import type { HeadEditor } from "../wire/response-writer.ts";
import { accessGate, type Gate } from "./access.ts";
import { envConditions, type EnvConditions, type EnvRequest } from "./env-conditions.ts";
import { DEFAULT_DOCUMENT_ROOT, environContext, latin1, listenerHost, type EnvironContext } from "./environ-context.ts";
import { ErrorDocuments, isLocalUrl } from "./error-documents.ts";
import { headEditor, requestEditor, type RequestEditor } from "./header-rules.ts";
import { matchRedirect, type RedirectMatch } from "./redirects.ts";
import { Rewriter } from "./rewrite.ts";
import { ownFiles } from "./sni.ts";
import { prefixLength, regex, substitute } from "./url-map.ts";

/** What a WSGI request runs with, besides its script. */
export interface RouteSettings {
  /** The resolved application group ("" is the main interpreter). */
  group: string;
  callable: string;
  passAuthorization: boolean;
  reload: boolean;
  /** Its Require lines (and authentication settings); null: everyone may reach it. */
  gate: Gate | null;
  /** WSGIAccessScript, asked before the gate; null in a daemon process (the front asked it, as mod_wsgi's Apache child does). */
  accessScript: AuthScript | null;
  /** SetEnv's environ additions: name, value... */
  env: string[];
  /** SetEnvIf's, worked out per request (they come before SetEnv's); null: none. */
  envIf: EnvConditions | null;
  editHead: HeadEditor | null;
  /** RequestHeader rules: the headers the app sees; null: as received. */
  editRequest: RequestEditor | null;
  /** Redirects written inside the sections that apply (mod_alias's fixup), if any. */
  redirects: Redirect[] | null;
  /** WSGITrustedProxies/WSGITrustedProxyHeaders: which X-Forwarded-* headers count; null: none is trusted. */
  proxies: TrustedProxies | null;
  /** WSGIChunkedRequest: false refuses a chunked request body (411), as mod_wsgi does. */
  chunkedRequest: boolean;
  /** LimitRequestBody where the route is (its <Location>, <Directory>, host or server); 0: none. */
  limitRequestBody: number;
  /** The WSGIDaemonProcess group that runs it; null: the embedded group (this process). */
  processGroup: string | null;
  /** ErrorDocument where the route is: for the 500s and 503s the server answers for the app. */
  errorDocuments: ErrorDocuments | null;
  /** environ's values from the configuration and the listener (DOCUMENT_ROOT, CONTEXT_*...). */
  context: EnvironContext;
  /** ServerSignature where the route is (environ's SERVER_SIGNATURE, worked out per request when not Off). */
  signature: "off" | "on" | "email";
}

/** An Alias a file was found through: CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT (mod_alias's ap_set_context_info). */
export interface AliasContext {
  prefix: string;
  root: string;
}

export type Match =
  | { kind: "redirect"; found: RedirectMatch }
  | { kind: "wsgi"; script: string; scriptName: string; pathInfo: string; settings: RouteSettings }
  | { kind: "file"; file: string; root: string; alias?: AliasContext };

/** Where the host is reached: the listener's port and scheme. */
export interface Reach {
  port: number;
  scheme: "http" | "https";
  /** The Listen address as configured (mod_wsgi.listener_host); absent: any. */
  host?: string;
  /** In a daemon process: requests come relayed by a front, which applies the Header rules to the response itself. */
  relayed?: boolean;
}

/** A route's resolved application group and the interpreters it asks for (K > 1: pool/parallel.ts). */
export interface RouteInterpreters {
  url: string;
  group: string;
  count: number;
}

/** A directory of scripts covers the path but holds no script for it: 404, whatever comes after the route. */
const OWNED_BUT_MISSING = Symbol("owned but missing");

interface CompiledRoute {
  resolved: ResolvedRoute;
  route: WsgiRoute;
  /** Settings shared by every request to the route; null when they depend on the path. */
  fixed: RouteSettings | null;
  /** When they depend on it: those made so far, by the sections' merged settings and SCRIPT_NAME. */
  perPath: SettingsCache | null;
}

/** Route settings made so far, by the sections' merged settings and SCRIPT_NAME. */
type SettingsCache = WeakMap<DirSettings, Map<string, RouteSettings>>;

/** Paths choose SCRIPT_NAME (regex routes): past this many per merged settings, made and not kept. */
const PER_PATH_LIMIT = 256;

/** PATH_TRANSLATED remembered for this many PATH_INFOs per host, then forgotten all at once. */
const TRANSLATED_LIMIT = 1024;

/** A decoded path (latin-1 bytes) as a file system path (UTF-8); null when it is not valid UTF-8. */
function fsPath(path: string): string | null {
  if (!/[\x80-\xff]/.test(path)) return path;
  const text = Buffer.from(path, "latin1").toString("utf8");
  return text.includes("\ufffd") ? null : text;
}

export class HostRuntime {
  readonly vhost: VirtualHost;
  readonly serverName: string;
  /** mod_ssl is on for it (PlannedHost.sslEngine). */
  readonly sslEngine: boolean;
  /** Its own certificate files (SSLEngine on with both files), null without: what a TLS request may move between (sni.ts). */
  readonly certificate: TlsFiles | null;
  /** The host's own Header rules, for pages answered before any section applies (404). */
  readonly editHead: HeadEditor | null;
  /**
   * Its own access log when that is one CustomLog in Combined Log Format for every request (null: none);
   * undefined where the front writes one for every host (the library).
   */
  accessLog?: AccessLog | null;
  /** Else its CustomLogs, each with its compiled format and env= condition (see log/host-access-logs.ts). */
  formattedLogs: FormattedLog[] | null = null;
  /** RewriteEngine On with rules: tried before anything else maps the path (mod_rewrite). */
  readonly rewriter: Rewriter | null;
  /** Does an ErrorDocument appear anywhere in the host (else no request works out which applies)? */
  private readonly anyErrorDocuments: boolean;
  /** Does an ErrorDocument of the host name a local URL (which a WSGI script may serve: app.ts's sinkFor)? */
  readonly localErrorDocuments: boolean;
  private readonly names: ((name: string) => boolean)[];
  private readonly routes: CompiledRoute[];
  /** Prefix routes of one script each, none with per-path settings: Hono's router finds them. */
  private readonly router: SmartRouter<CompiledRoute> | null;
  /** Anything before the WSGI routes (Redirect*, Alias*), or a DocumentRoot after them. */
  private readonly redirects: Redirect[];
  private readonly statics: StaticMapping[];
  /** mod_status's <Location PATH>s (SetHandler server-status). */
  private readonly statusPaths: string[];
  /** AddHandler or SetHandler wsgi-script somewhere in the host: its files may be scripts (handlerScript). */
  readonly wsgiHandlers: boolean;
  /** Handler scripts' settings, by the settings in force and SCRIPT_NAME. */
  private readonly handlerSettings: SettingsCache = new WeakMap();
  /** ErrorDocuments by the settings in force (errorDocumentsAt asks per request). */
  private readonly errorPages = new WeakMap<DirSettings, ErrorDocuments>();
  /** PATH_TRANSLATED by PATH_INFO (translatePath): one map lookup per request for the paths an app sees again. */
  private readonly translated = new Map<string, string>();

  /** Does it log elsewhere than the process's main error log (its own ErrorLog or LogLevel)? */
  private readonly ownLog: boolean;

  /** `errorLog`: its ErrorLog at its LogLevel, what its requests and its apps log; `mainLog`: the process's. */
  constructor(planned: PlannedHost, private readonly reach: Reach, readonly errorLog: ErrorLog, mainLog: ErrorLog = errorLog) {
    this.ownLog = errorLog !== mainLog;
    const vhost = planned.vhost;
    this.vhost = vhost;
    this.serverName = planned.serverName;
    this.sslEngine = planned.sslEngine;
    this.certificate = ownFiles(vhost.ssl);
    this.names = vhostNames(vhost).map((name) => componentMatcher(name.toLowerCase()));
    this.editHead = headEditor(vhost.settings.headers);
    this.wsgiHandlers = hasWsgiHandlers(vhost);
    this.rewriter = vhost.rewriteEngine && vhost.rewrites?.length ? new Rewriter(vhost.rewrites) : null;
    const errorDocuments = [vhost.settings, ...vhost.sections.map((section) => section.settings)].flatMap((settings) => (settings.errorDocuments ? [settings.errorDocuments] : []));
    this.anyErrorDocuments = errorDocuments.length > 0;
    this.localErrorDocuments = errorDocuments.some((documents) => Object.values(documents).some(isLocalUrl));
    this.redirects = vhost.redirects;
    this.statics = vhost.staticMappings;
    this.statusPaths = statusLocations(vhost);
    // A <LocationMatch> may apply to any part of any route: then every route works its settings out per request.
    const anyLocationMatch = vhost.sections.some((section) => section.kind === "location" && section.regex);
    this.routes = planned.routes.map((resolved) => {
      const route = resolved.route;
      const perPath = route.match === "regex" || route.directory || anyLocationMatch || sectionsInside(vhost, route).length > 0;
      return { resolved, route, fixed: perPath ? null : this.settings(route, resolved.settings, route.url), perPath: perPath ? new WeakMap() : null };
    });
    const simple = this.routes.every((r) => r.fixed !== null);
    this.router = simple ? prefixRouter(this.routes) : null;
  }

  /**
   * The routes' groups as named on this host and port, with the interpreters each asks for: the worker
   * pool needs every parallel group before it starts (and routes sharing a group must agree). Only a
   * route whose group is the same for every request can ask for K > 1 (a --alias route always is).
   */
  routeInterpreters(): RouteInterpreters[] {
    const routes: RouteInterpreters[] = [];
    for (const { resolved, route, fixed } of this.routes) {
      // A daemon group's routes run in its processes: in those (relayed), not in the fronts.
      if (resolved.processGroup !== "%{GLOBAL}" && !this.reach.relayed) continue;
      if (!fixed) {
        if (resolved.parallelInterpreters <= 1) continue;
        throw new ConfigError(route.source, `${route.url}: parallel interpreters need an application group known before the first request; this route's depends on the request path`);
      }
      routes.push({ url: route.url, group: fixed.group, count: resolved.parallelInterpreters });
    }
    return routes;
  }

  /** The port of the listener it is reached on. */
  get port(): number {
    return this.reach.port;
  }

  private ownContext: EnvironContext | null = null;

  /** environ's values from the configuration for the host itself (DOCUMENT_ROOT...): mod_wsgi's auth scripts get them. */
  get context(): EnvironContext {
    this.ownContext ??= environContext({
      documentRoot: this.vhost.documentRoot, alias: null, serverAdmin: this.vhost.serverAdmin,
      listenerHost: listenerHost(this.reach.host), listenerPort: this.reach.port,
      errorLog: this.ownLog ? this.errorLog : undefined,
    });
    return this.ownContext;
  }

  /** Does Host name this host (ServerName or a ServerAlias, wildcards allowed)? `name` is lower-case, without port. */
  named(name: string): boolean {
    return this.names.some((matches) => matches(name));
  }

  /** The status <Location> covering a path (on segment boundaries, as <Location>), or null. */
  statusBase(path: string): string | null {
    return this.statusPaths.length ? this.statusPaths.find((base) => locationCovers(base, path)) ?? null : null;
  }

  /** What a (decoded, normalised) path maps to, or null: 404. */
  match(path: string): Match | null {
    if (this.redirects.length) {
      const found = matchRedirect(this.redirects, path);
      if (found) return { kind: "redirect", found };
    }
    if (this.statics.length) {
      const file = this.staticFile(path);
      if (file) return file;
    }
    const wsgi = this.router ? this.routed(path) : this.scanned(path);
    if (wsgi === OWNED_BUT_MISSING) return null;
    if (wsgi) return wsgi;
    const root = this.vhost.documentRoot;
    if (root === undefined) return null;
    const rest = fsPath(path);
    return rest === null ? null : { kind: "file", file: root === "/" ? rest : root + rest, root };
  }

  private routed(path: string): Match | null {
    const compiled = this.router!.match("GET", path)[0][0]?.[0];
    if (!compiled || prefixLength(compiled.route.url, path) < 0) return null;
    const url = compiled.route.url;
    return {
      kind: "wsgi",
      script: compiled.route.target,
      scriptName: url === "/" ? "" : url,
      pathInfo: url === "/" ? path : path.slice(url.length),
      settings: compiled.fixed!,
    };
  }

  /** Routes in declaration order, for hosts with regex routes, directories of scripts or per-path settings. */
  private scanned(path: string): Match | typeof OWNED_BUT_MISSING | null {
    for (const compiled of this.routes) {
      const { route } = compiled;
      let script = route.target;
      let scriptName: string;
      if (route.match === "regex") {
        const match = regex(route.url).exec(path);
        if (!match) continue;
        script = substitute(route.target, match);
        scriptName = path.slice(0, match.index + match[0].length);
      } else {
        if (prefixLength(route.url, path) < 0) continue;
        scriptName = route.url === "/" ? "" : route.url;
      }
      if (route.directory) {
        const found = scriptInDirectory(script, scriptName, path);
        if (!found) return OWNED_BUT_MISSING; // as Apache: the alias owns the path, and there is no such script
        ({ script, scriptName } = found);
      }
      const settings = compiled.fixed ?? this.pathSettings(compiled, settingsFor(this.vhost, path, script), scriptName || "/");
      return { kind: "wsgi", script, scriptName, pathInfo: path.slice(scriptName.length), settings };
    }
    return null;
  }

  private staticFile(path: string): Match | null {
    for (const mapping of this.statics) {
      let file: string;
      let root = mapping.target;
      let alias: AliasContext;
      if (mapping.kind === "alias-match") {
        const match = regex(mapping.url).exec(path);
        if (!match) continue;
        const substituted = fsPath(substitute(mapping.target, match));
        if (substituted === null) return null;
        file = substituted;
        // As mod_alias: the part of the path matched, and the target less what follows the match.
        const end = match.index + match[0].length;
        const target = latin1(substituted);
        alias = { prefix: path.slice(0, end), root: target.slice(0, Math.max(target.length - (path.length - end), 0)) };
        // Symbolic links are checked below the directory no $N can change.
        const variable = mapping.target.search(/[$&\\]/);
        const fixed = variable < 0 ? mapping.target : mapping.target.slice(0, variable);
        root = fixed.slice(0, fixed.lastIndexOf("/") + 1) || "/";
      } else {
        const length = prefixLength(mapping.url, path);
        if (length < 0) continue;
        const rest = fsPath(path.slice(length));
        if (rest === null) return null;
        file = mapping.target + rest;
        alias = { prefix: mapping.url, root: latin1(mapping.target) };
      }
      return { kind: "file", file, root, alias };
    }
    return null;
  }

  /**
   * mod_wsgi's handler (AddHandler or SetHandler wsgi-script): the file a static mapping leads to runs as
   * a WSGI script. Walking down the path, the first regular file is the script and the rest PATH_INFO,
   * as Apache's directory walk. null: a plain file (or a directory, or nothing); a status: the answer
   * and why (403 where Options ExecCGI is off, as mod_wsgi; or a symbolic link without FollowSymLinks).
   */
  handlerScript(path: string, found: { file: string; root: string; alias?: AliasContext }): Match | { status: number; script: string; reason: string } | null {
    const walked = fileOnPath(found.root, found.file) ?? this.indexFile(path, found.file);
    if (!walked) return null;
    const dir = settingsFor(this.vhost, path, walked.file);
    if (!runsAsScript(dir, walked.file)) return null;
    const options = effectiveOptions(dir.options);
    if (!options.has("ExecCGI")) return { status: 403, script: walked.file, reason: "Options ExecCGI is off in this directory" };
    if (!options.has("FollowSymLinks") && throughSymlink(found.root, walked.file)) {
      return { status: 403, script: walked.file, reason: "AH00037: Symbolic link not allowed or link target not accessible" };
    }
    const pathInfo = latin1(walked.rest);
    if (!path.endsWith(pathInfo)) return null;
    const scriptName = path.slice(0, path.length - pathInfo.length) + latin1(walked.index ?? "");
    const route: WsgiRoute = { match: "prefix", url: scriptName || "/", target: walked.file };
    // Cached by SCRIPT_NAME, which also decides the Alias (a prefix of the path it names).
    const settings = this.cachedSettings(this.handlerSettings, route, dir, scriptName || "/", found.alias ?? null);
    return { kind: "wsgi", script: walked.file, scriptName, pathInfo, settings };
  }

  /**
   * mod_dir on a path ending in "/" that leads to a directory: the first of its DirectoryIndex files
   * that exists (which may be a script: SCRIPT_NAME then names it, as after Apache's internal redirect).
   */
  private indexFile(path: string, directory: string): WalkedFile | null {
    if (!path.endsWith("/")) return null;
    for (const index of settingsFor(this.vhost, path, directory).directoryIndex ?? ["index.html"]) {
      if (index.includes("/")) continue; // a URL-path index is not looked up here (as static-files.ts)
      const file = join(directory, index);
      try {
        if (statSync(file).isFile()) return { file, rest: "", index };
      } catch {}
    }
    return null;
  }

  /** Is the file a WSGI script where it is (for the static files' own check: its source is never sent)? */
  isHandlerScript(path: string, file: string): boolean {
    return this.wsgiHandlers && runsAsScript(settingsFor(this.vhost, path, file), file);
  }

  /** A per-path route's settings, made once for each merged settings object and SCRIPT_NAME. */
  private pathSettings(compiled: CompiledRoute, dir: DirSettings, scriptName: string): RouteSettings {
    return this.cachedSettings(compiled.perPath!, compiled.route, dir, scriptName);
  }

  /** settings(), kept in `cache` by the merged settings object and SCRIPT_NAME (up to PER_PATH_LIMIT names each). */
  private cachedSettings(cache: SettingsCache, route: WsgiRoute, dir: DirSettings, scriptName: string, alias: AliasContext | null = null): RouteSettings {
    let byName = cache.get(dir);
    if (!byName) cache.set(dir, (byName = new Map()));
    let settings = byName.get(scriptName);
    if (!settings) {
      settings = this.settings(route, dir, scriptName, alias);
      if (byName.size < PER_PATH_LIMIT) byName.set(scriptName, settings);
    }
    return settings;
  }

  /** A route's settings: its own options over the per-directory ones, resolved for this host and port. */
  private settings(route: WsgiRoute, dir: DirSettings, scriptName: string, alias: AliasContext | null = null): RouteSettings {
    const applicationGroup = route.applicationGroup ?? dir.applicationGroup ?? DEFAULTS.applicationGroup;
    // The path's own WSGIProcessGroup (a <Location> inside the route may name another), as in mod_wsgi.
    const processGroup = route.processGroup ?? dir.processGroup ?? "%{GLOBAL}";
    const env = setEnvPairs(dir);
    return {
      group: applicationGroupName({ applicationGroup, url: scriptName }, this.serverName, this.reach.port),
      callable: route.callableObject ?? dir.callableObject ?? DEFAULTS.callableObject,
      passAuthorization: route.passAuthorization ?? dir.passAuthorization ?? false,
      reload: dir.scriptReloading ?? true,
      gate: accessGate(dir.access, dir.auth),
      accessScript: this.accessScriptIn(dir),
      env,
      envIf: envConditions(dir.setEnvIf),
      editHead: this.reach.relayed ? null : headEditor(dir.headers),
      editRequest: requestEditor(dir.requestHeaders),
      redirects: dir.redirects?.length ? dir.redirects : null,
      proxies: trustedProxiesFor(dir.trustedProxies, dir.trustedProxyHeaders),
      chunkedRequest: dir.chunkedRequest ?? true,
      limitRequestBody: dir.limitRequestBody ?? DEFAULTS.limitRequestBody,
      processGroup: processGroup === "%{GLOBAL}" ? null : processGroup,
      errorDocuments: this.errorDocuments(dir),
      context: environContext({
        documentRoot: this.vhost.documentRoot, alias, serverAdmin: this.vhost.serverAdmin,
        listenerHost: listenerHost(this.reach.host), listenerPort: this.reach.port,
        errorLog: this.ownLog ? this.errorLog : undefined,
      }),
      signature: dir.serverSignature ?? "off",
    };
  }

  /**
   * PATH_TRANSLATED for a PATH_INFO: that path mapped as a URL path, as Apache's subrequest maps it
   * (through Alias, WSGIScriptAlias or the DocumentRoot, latin-1 as environ's strings); "" where a
   * Redirect takes it (Apache then sets none). Remembered per path, up to TRANSLATED_LIMIT of them.
   */
  translatePath(path: string): string {
    let translated = this.translated.get(path);
    if (translated === undefined) {
      translated = this.mapPath(path);
      if (this.translated.size >= TRANSLATED_LIMIT) this.translated.clear();
      this.translated.set(path, translated);
    }
    return translated;
  }

  /** translatePath's mapping: nothing is looked up on disk (the directory walk would split and rejoin it). */
  private mapPath(path: string): string {
    if (this.redirects.length && matchRedirect(this.redirects, path)) return "";
    if (this.statics.length) {
      const file = this.staticFile(path);
      if (file?.kind === "file") return latin1(file.file);
    }
    for (const { route } of this.routes) {
      if (route.match === "regex") {
        const match = regex(route.url).exec(path);
        if (match) return latin1(substitute(route.target, match)) + path.slice(match.index + match[0].length);
        continue;
      }
      const length = prefixLength(route.url, path);
      // A URL-path ending in "/" keeps that "/" in what follows (Apache: WSGIScriptAlias / X gives X/path).
      if (length >= 0) return latin1(route.target) + path.slice(route.url.endsWith("/") ? length - 1 : length);
    }
    const root = this.vhost.documentRoot ?? DEFAULT_DOCUMENT_ROOT;
    return latin1(root === "/" ? "" : root) + path;
  }

  /**
   * The variables SetEnv and SetEnvIf give a request where its path leads (the <Location>s that cover
   * it; a <Directory>'s apply as far as the path names it), name, value...: CustomLog env=[!]VAR and %{VAR}e.
   */
  requestEnv(request: EnvRequest): string[] {
    const dir = settingsFor(this.vhost, request.path);
    const conditions = envConditions(dir.setEnvIf);
    const fixed = setEnvPairs(dir);
    return conditions ? conditions(request, fixed) : fixed;
  }

  /** WSGIAccessScript in force in `dir`; null in a daemon process, whose front asked it (as mod_wsgi's Apache child does). */
  accessScriptIn(dir: DirSettings): AuthScript | null {
    return this.reach.relayed ? null : dir.auth?.accessScript ?? null;
  }

  /** ErrorDocument in force at a path (and file), or null; the settings are worked out only where the host has any. */
  errorDocumentsAt(path: string, file?: string): ErrorDocuments | null {
    return this.anyErrorDocuments ? this.errorDocuments(settingsFor(this.vhost, path, file)) : null;
  }

  /** ErrorDocument in `dir` (the settings in force for a path), its local URLs served from this host's files. */
  errorDocuments(dir: DirSettings): ErrorDocuments | null {
    if (!dir.errorDocuments) return null;
    let pages = this.errorPages.get(dir);
    if (pages === undefined) {
      pages = new ErrorDocuments(dir.errorDocuments, (path) => {
        const found = this.match(path);
        return found?.kind === "file" ? found.file : null;
      }, (path) => this.match(path)?.kind === "wsgi");
      this.errorPages.set(dir, pages);
    }
    return pages;
  }
}

/** Registration order is match order: the first declared alias that covers a path wins. */
function prefixRouter(routes: CompiledRoute[]): SmartRouter<CompiledRoute> {
  const router = new SmartRouter<CompiledRoute>({ routers: [new RegExpRouter(), new TrieRouter()] });
  for (const compiled of routes) {
    const url = compiled.route.url;
    if (url === "/") router.add("ALL", "*", compiled);
    else {
      router.add("ALL", url, compiled);
      router.add("ALL", `${url}/*`, compiled);
    }
  }
  return router;
}

/**
 * WSGIScriptAlias to a directory: the script is the first file met walking down the path below it
 * (Apache's directory walk); what follows is PATH_INFO. null when there is none.
 */
function scriptInDirectory(dir: string, scriptName: string, path: string): { script: string; scriptName: string } | null {
  const segments = path.slice(scriptName.length).split("/").filter((s) => s !== "");
  let current = dir.replace(/\/+$/, "");
  let name = scriptName;
  for (const segment of segments) {
    const decoded = fsPath(segment);
    if (decoded === null) return null;
    current = `${current}/${decoded}`;
    name = `${name}/${segment}`;
    let stats;
    try {
      stats = statSync(current);
    } catch {
      return null;
    }
    if (stats.isFile()) return { script: current, scriptName: name };
    if (!stats.isDirectory()) return null;
  }
  return null;
}

/** SetEnv's variables in `dir`: name, value... */
function setEnvPairs(dir: DirSettings): string[] {
  return dir.setEnv.flatMap(({ name, value }) => [name, value]);
}

/** SetHandler wsgi-script, or (no other SetHandler) AddHandler wsgi-script for any of the name's extensions, as mod_mime reads them. */
function runsAsScript(dir: DirSettings, file: string): boolean {
  if (dir.handler === "wsgi-script") return true;
  if ((dir.handler !== undefined && dir.handler !== "none") || !dir.addHandlers) return false;
  const extensions = basename(file).toLowerCase().split(".").slice(1);
  return extensions.some((extension) => dir.addHandlers![extension] === "wsgi-script");
}

/** A file a path leads to: what follows it on the path, and the DirectoryIndex name that chose it. */
interface WalkedFile {
  file: string;
  rest: string;
  index?: string;
}

/**
 * Walking from `root` down to `file`: the first regular file on the way, and what follows it; null
 * when the walk meets a directory at the end, or nothing.
 */
function fileOnPath(root: string, file: string): WalkedFile | null {
  let current = root.replace(/\/+$/, "") || "/";
  if (!file.startsWith(current)) return null;
  const segments = file.slice(current.length).split("/");
  for (let i = 0; ; i++) {
    let stats;
    try {
      stats = statSync(current);
    } catch {
      return null;
    }
    if (stats.isFile()) return { file: current, rest: file.slice(current.length) };
    if (!stats.isDirectory()) return null;
    while (i < segments.length && segments[i] === "") i++;
    if (i >= segments.length) return null;
    current = current === "/" ? `/${segments[i]}` : `${current}/${segments[i]}`;
  }
}

/** Does the path from `root` down to `file` pass through a symbolic link? (`root` itself may be one.) */
function throughSymlink(root: string, file: string): boolean {
  try {
    return realpathSync(file) !== join(realpathSync(root), relative(root, file));
  } catch {
    return true;
  }
}
