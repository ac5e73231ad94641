// The site model: what the server should be, however it was described (an Apache configuration
// file or the command line, which describes one virtual host). src/config/serve-plan.ts picks what
// one process serves of it; the HTTP front (src/http/site/) serves that.
import type { TraceEnable } from "../http/site/trace.ts";
import type { ServerTokens } from "../version.ts";
import type { ConnectionLimits } from "../http/wire/limits.ts";
import type { Source } from "./diagnostics.ts";

export type { Source } from "./diagnostics.ts";

/** Listen: an address and port the server accepts connections on. */
export interface Listener {
  /** "0.0.0.0", "::", or a specific address. */
  host: string;
  /** 0 picks a free port when the server starts. */
  port: number;
  protocol: "http" | "https";
  /** The command line's --https-port: its certificate (a configuration file's come from its virtual hosts). */
  tls?: TlsFiles;
  source?: Source;
}

/** SSLCertificateFile, SSLCertificateKeyFile, SSLCertificateChainFile: absolute paths of PEM files. */
export interface TlsFiles {
  certificateFile: string;
  keyFile: string;
  chainFile?: string;
}

/** mod_ssl's settings in a virtual host (or the main server, which virtual hosts inherit). */
export interface SslSettings {
  /** SSLEngine on: connections to this host's port speak TLS. */
  engine?: boolean;
  certificateFile?: string;
  keyFile?: string;
  chainFile?: string;
  /** SSLStrictSNIVHostCheck on: a client that sent no name in its handshake is refused here (403). */
  strictSni?: boolean;
  source?: Source;
}

/** One address of a <VirtualHost>: "*" (or "_default_") matches any local address, "*" any port. */
export interface VhostAddress {
  host: string;
  port: number | "*";
}

/** One Require line (`Require not ...`: negated), or an authorization container holding more. */
export type RequireRule = RequireLine | RequireContainer;

export type RequireLine = (
  | { kind: "all"; granted: boolean }
  | { kind: "ip"; ranges: string[] }
  | { kind: "local" }
  /** mod_authz_user and mod_authz_groupfile: any authenticated user, these users, members of these groups. */
  | { kind: "valid-user" }
  | { kind: "user"; names: string[] }
  | { kind: "group"; names: string[] }
  /** mod_wsgi's: members of these groups by its WSGIAuthGroupScript's groups_for_user. */
  | { kind: "wsgi-group"; names: string[] }
  /** A Require wsgi-bin cannot evaluate (host, env, expr...): it grants nobody, negated or not. */
  | { kind: "unsupported"; text: string }
) & { negated?: boolean };

/**
 * mod_authz_core's <RequireAll> (every rule in it must grant), <RequireAny> (one must) and
 * <RequireNone> (none may: it can only deny, so it stands inside a <RequireAll>).
 */
export interface RequireContainer {
  kind: "container";
  op: "all" | "any" | "none";
  rules: RequireRule[];
}

/**
 * mod_auth_basic, mod_authn_file and mod_authz_groupfile's settings where a request is (each merged
 * on its own, as httpd merges their per-directory configurations).
 */
export interface AuthSettings {
  /** AuthType as written ("Basic"; "None" turns authentication off). */
  type?: string;
  /** AuthName: the realm a 401 names. */
  name?: string;
  /** AuthUserFile: an htpasswd file. */
  userFile?: string;
  /** AuthGroupFile: `group: user user...` lines. */
  groupFile?: string;
  /** AuthBasicProvider, lower-case, asked in order: "file" (httpd's default) and mod_wsgi's "wsgi". */
  providers?: string[];
  /** WSGIAuthUserScript: the provider "wsgi" calls its check_password(environ, user, password). */
  userScript?: AuthScript;
  /** WSGIAuthGroupScript: Require group calls its groups_for_user(environ, user). */
  groupScript?: AuthScript;
  /** WSGIAccessScript: its allow_access(environ, host) is asked before the Require rules. */
  accessScript?: AuthScript;
}

/** A mod_wsgi auth script and the application group it runs in (%{GLOBAL} unless application-group= says). */
export interface AuthScript {
  script: string;
  applicationGroup: string;
}

export interface Access {
  /** The section's Require lines and containers: any of them grants access (httpd's implicit <RequireAny>). */
  rules: RequireRule[];
  source?: Source;
}

/** Options: absolute (`Options Indexes`) replaces what is inherited; `+X`/`-X` edit it. */
export interface OptionsChange {
  replace?: string[];
  add: string[];
  remove: string[];
  source?: Source;
}

export type HeaderAction = "set" | "unset" | "add" | "append" | "merge" | "setifempty" | "edit" | "edit*";

/** Header [always|onsuccess] ACTION NAME [VALUE], RequestHeader ACTION NAME [VALUE] (edit: NAME REGEX VALUE). */
export interface HeaderRule {
  action: HeaderAction;
  name: string;
  /** The value; edit's replacement ($0-$9 from the match). */
  value?: string;
  /** edit and edit*: the regular expression replaced (its first match; edit*: every one). */
  pattern?: string;
  /** `always` also applies to error responses (Apache's error-headers table). */
  always: boolean;
  source?: Source;
}

/**
 * Per-directory settings: those given at server or virtual-host level are the defaults, and each
 * <Directory>, <Files> and <Location> that applies to a request edits them (see resolve.ts).
 * Unset fields inherit.
 */
export interface DirSettings {
  options?: OptionsChange;
  access?: Access;
  /** AuthType, AuthName, AuthUserFile, AuthGroupFile, AuthBasicProvider: who a user-based Require lets in. */
  auth?: AuthSettings;
  /** DirectoryIndex; [] is `DirectoryIndex disabled`. */
  directoryIndex?: string[];
  /** SetHandler, lower-case: "server-status" (mod_status) in a <Location>, "wsgi-script" (mod_wsgi), or "none". */
  handler?: string;
  /** AddHandler (mod_mime): a file name extension (lower-case, no dot) -> its handler, lower-case. */
  addHandlers?: Record<string, string>;
  applicationGroup?: string;
  processGroup?: string;
  callableObject?: string;
  passAuthorization?: boolean;
  scriptReloading?: boolean;
  chunkedRequest?: boolean;
  /** ServerSignature: what environ's SERVER_SIGNATURE says (Off: nothing, Apache's default). */
  serverSignature?: "off" | "on" | "email";
  trustedProxies?: string[];
  trustedProxyHeaders?: string[];
  /** LimitRequestBody; 0 is no limit. */
  limitRequestBody?: number;
  /** SetEnv NAME VALUE, in order (later wins): variables added to environ. */
  setEnv: { name: string; value: string; source?: Source }[];
  /** SetEnvIf, SetEnvIfNoCase, BrowserMatch: conditional variables, in order (mod_setenvif). */
  setEnvIf?: EnvCondition[];
  headers: HeaderRule[];
  /** RequestHeader (mod_headers on the request, before the app sees it), in order. */
  requestHeaders?: HeaderRule[];
  /** Redirect/RedirectMatch written inside a section (the URL-path may be the <Location>'s). */
  redirects?: Redirect[];
  /** ErrorDocument by status: a text, a local URL, a full URL, or "default". */
  errorDocuments?: Record<number, string>;
  /** Where each per-directory directive in force was written (by directive name). */
  sources: Record<string, Source>;
}

/** One SetEnvIf (mod_setenvif): when the attribute's value matches, the variables are set or unset. */
export interface EnvCondition {
  /**
   * Remote_Host, Remote_Addr, Server_Addr, Request_Method, Request_Protocol or Request_URI (any case);
   * else a request header's name (then a variable set by an earlier SetEnvIf), or a regular expression
   * over header names when it holds anything but letters, digits, '-' and '_'.
   */
  attribute: string;
  /** A regular expression matched against the value (a missing value is ""). */
  pattern: string;
  noCase: boolean;
  /** Written in a <Directory>, <Files> or <Location>: read once Apache has decoded the path (Request_URI). */
  inSection?: boolean;
  /** NAME=VALUE (VALUE may use $0-$9), NAME (set to "1") or !NAME (value null: unset), in order. */
  assignments: { name: string; value: string | null }[];
  source?: Source;
}

/** A <Directory>, <DirectoryMatch>, <Files>, <FilesMatch>, <Location> or <LocationMatch> section. */
export interface Section {
  kind: "directory" | "files" | "location";
  /** The path, wildcard pattern or regular expression as written. */
  pattern: string;
  regex: boolean;
  /** A <Files> inside a <Directory>: it applies within that directory only. */
  parent?: Section;
  settings: DirSettings;
  source?: Source;
}

/** WSGIScriptAlias / WSGIScriptAliasMatch. Options not given come from the per-directory settings. */
export interface WsgiRoute {
  match: "prefix" | "regex";
  /** URL prefix (no trailing slash, except "/") or regular expression source. */
  url: string;
  /** Absolute path of the script (or directory of scripts); with a regex, may hold $1.. references. */
  target: string;
  /** The target is a directory: the script is the first path segment after the URL prefix. */
  directory?: boolean;
  processGroup?: string;
  applicationGroup?: string;
  callableObject?: string;
  passAuthorization?: boolean;
  /**
   * wsgi-bin's own (--alias's parallel-interpreters=, --parallel-interpreters; no directive): the
   * route's application group as K sub-interpreters each with its own GIL (Python 3.12+, see
   * pool/parallel.ts). Absent or 1: one interpreter sharing the main GIL, as mod_wsgi.
   */
  parallelInterpreters?: number;
  source?: Source;
}

/** Alias / AliasMatch / DocumentRoot: files sent as they are. */
export interface StaticMapping {
  kind: "alias" | "alias-match" | "document-root";
  /** URL prefix as written (a trailing slash is then required in the request), or a regex; "/" for DocumentRoot. */
  url: string;
  target: string;
  source?: Source;
}

/** Redirect / RedirectMatch. */
export interface Redirect {
  match: "prefix" | "regex";
  url: string;
  status: number;
  /** Absent for statuses that take no URL (410 gone and other non-3xx). */
  location?: string;
  source?: Source;
}

/** A RewriteCond (mod_rewrite): TestString (with %{VAR}, $N, %N) against CondPattern. */
export interface RewriteCond {
  test: string;
  /** A regular expression, or the operand of `=`, `<`, `>`; empty for the file tests. */
  pattern: string;
  kind: "regex" | "=" | "<" | ">" | "-f" | "-d" | "-s";
  negate: boolean;
  nocase: boolean;
  /** [OR]: this condition or the next. */
  or: boolean;
  source?: Source;
}

/**
 * A RewriteRule in a server or virtual host context, of the kinds wsgi-bin serves: a redirect (an
 * absolute URL, or R=), or an answer (F, G) without one. Internal rewrites are refused at load.
 */
export interface RewriteRule {
  pattern: string;
  negate: boolean;
  /** "-": no substitution. */
  substitution: string;
  conds: RewriteCond[];
  /** The redirect's status (R=, 302 by default), or 403 (F) or 410 (G); 0: "-" without them, nothing to answer. */
  status: number;
  nocase: boolean;
  /** L or END: no rule after this one is tried once it matched. */
  last: boolean;
  /** PT: a local substitution is the request's new path, which Alias and WSGIScriptAlias map (implies L). */
  passThrough?: boolean;
  noEscape: boolean;
  queryAppend: boolean;
  queryDiscard: boolean;
  source?: Source;
}

export interface CustomLog {
  /** A file path, or "-" for stdout (the command line's form). */
  target: string;
  /** The format string, nicknames resolved. */
  format: string;
  /** The LogFormat nickname it was given as, if any. */
  nickname?: string;
  /** env=VAR (logged when VAR is set, by SetEnv or SetEnvIf) or env=!VAR (when it is not). */
  condition?: { variable: string; set: boolean };
  source?: Source;
}

export interface VirtualHost {
  /** Empty for the main server (the configuration outside any <VirtualHost>). */
  addresses: VhostAddress[];
  serverName?: string;
  serverAliases: string[];
  documentRoot?: string;
  documentRootSource?: Source;
  /** ServerAdmin: environ's SERVER_ADMIN. */
  serverAdmin?: string;
  /** In declaration order; a virtual host's come before those it inherits from the main server. */
  wsgiRoutes: WsgiRoute[];
  staticMappings: StaticMapping[];
  redirects: Redirect[];
  /** RewriteRule's (mod_rewrite), tried before anything else maps the path when rewriteEngine is on; not inherited by virtual hosts, as in Apache. */
  rewrites?: RewriteRule[];
  rewriteEngine?: boolean;
  /** Defaults for every request to this host (server level merged under virtual-host level). */
  settings: DirSettings;
  /** The main server's sections first, then the virtual host's (Apache applies them in that order). */
  sections: Section[];
  errorLog?: string;
  logLevel?: string;
  customLogs: CustomLog[];
  /** TraceEnable: how TRACE is answered (http/site/trace.ts); unset: on. */
  traceEnable?: TraceEnable;
  ssl?: SslSettings;
  source?: Source;
}

/** How a process group's processes run: the embedded one (ThreadsPerChild...) or a WSGIDaemonProcess. */
export interface ProcessSettings {
  threads: number;
  processes: number;
  /** A daemon's processes= given (mod_wsgi then sets wsgi.multiprocess even for 1). */
  processesGiven?: boolean;
  gracefulTimeout: number;
  requestTimeout: number;
  maximumRequests: number;
  restartInterval: number;
  queueTimeout: number;
  pythonHome?: string;
  pythonPath: string[];
  /** A daemon group's python= (command line only): the interpreter its processes embed. */
  python?: string;
  /** A daemon group's home=: its processes' working directory. */
  home?: string;
  /** A daemon group's display-name= as written (%{GROUP} is "(wsgi:NAME)"). */
  displayName?: string;
  /** A daemon group's user= and group=: a name or #id. */
  user?: string;
  group?: string;
  /** A daemon group's connect-timeout= in seconds. */
  connectTimeout?: number;
  /** A daemon group's deadlock-timeout= in seconds (0: the GIL not watched). */
  deadlockTimeout?: number;
  /** A daemon group's listen-backlog=: requests that may wait for a free thread, per process. */
  listenBacklog?: number;
}

export interface DaemonProcess {
  name: string;
  /** Every option as written (name -> value), implemented or not: the process issue's data. */
  options: Record<string, string>;
  settings: ProcessSettings;
  /** Options mod_wsgi has that wsgi-bin does not act on. */
  unimplemented: string[];
  /** The <VirtualHost> it is defined in (undefined: the main server): its processes log to that host's ErrorLog. */
  host?: VirtualHost;
  source?: Source;
}

export interface ImportScriptDef {
  script: string;
  processGroup: string;
  applicationGroup: string;
  source?: Source;
}

/** The server-wide directives of the HTTP layer and of privileges (src/http/wire/limits.ts names their defaults). */
export interface ConnectionSettings extends Partial<ConnectionLimits> {
  user?: string;
  group?: string;
  /** ListenBacklog: requests that may wait for a free thread, per process (--queue-limit). */
  queueLimit?: number;
  /** ServerTokens: the Server header's and SERVER_SOFTWARE's detail (version.ts); unset: Full. */
  serverTokens?: ServerTokens;
}

export interface Site {
  listeners: Listener[];
  /** The main server: serves connections no <VirtualHost> claims, and what virtual hosts inherit. */
  main: VirtualHost;
  /** <VirtualHost> sections in order, each with what it inherits from the main server merged in. */
  vhosts: VirtualHost[];
  /** The embedded process group (%{GLOBAL}): ThreadsPerChild, StartServers, WSGIPythonHome... */
  embedded: ProcessSettings;
  daemons: DaemonProcess[];
  importScripts: ImportScriptDef[];
  restrictEmbedded: boolean;
  /** --python: which Python to embed (no directive: mod_wsgi's is fixed when it is built). */
  python?: string;
  /** Connection limits and the user to run as (LimitRequestLine, Timeout, KeepAliveTimeout, User...); unset: the defaults. */
  connection: ConnectionSettings;
  /** The configuration files read, the main one first; empty when configured by flags alone. */
  files: string[];
}

/** The main server's name, or a virtual host's (inherited from the main server when it has none). */
export function hostName(vhost: VirtualHost, site: Site, fallback: string): string {
  return vhost.serverName ?? site.main.serverName ?? fallback;
}

export function emptySettings(): DirSettings {
  return { setEnv: [], headers: [], sources: {} };
}

export function emptyVhost(): VirtualHost {
  return { addresses: [], serverAliases: [], wsgiRoutes: [], staticMappings: [], redirects: [], settings: emptySettings(), sections: [], customLogs: [] };
}
