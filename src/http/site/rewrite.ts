// mod_rewrite's pass in a server or virtual host context (its hook_uri2file), before Redirect, Alias
// or any WSGI route maps the path: the rules in order, each against the decoded path, its
// RewriteConds (with [OR] chains) against their test strings. F or G answers at once; a redirect at
// its [L], or at the end of the pass with what the later rules made of its URL; a [PT] rule gives
// the path the request goes on with. Only such rules reach here (config/apache/directives-rewrite.ts).
import { statSync } from "node:fs";
import type { RewriteCond, RewriteRule } from "../../config/site.ts";
import { absoluteUrl, type UrlBase } from "./redirects.ts";
import { escapePath } from "./url-map.ts";

/** What %{NAME} reads: the request as it came, before anything mapped it. */
export interface RewriteRequest {
  /** The decoded path (latin-1 bytes), what RewriteRule matches and %{REQUEST_URI} is. */
  path: string;
  query: string;
  method: string;
  protocol: string;
  /** The request line as sent (%{THE_REQUEST}). */
  requestLine: string;
  serverName: string;
  serverPort: string;
  remoteAddr: string;
  remotePort: string;
  documentRoot: string;
  /** A request header's value, repeated ones joined with ", "; "" when absent. */
  header(name: string): string;
  /** Where a redirect to a path on this server goes (scheme, Host, ServerName). */
  base: UrlBase;
}

export interface RewriteAnswer {
  status: number;
  /** The redirect's absolute URL; absent for 403 and 410 and other non-3xx. */
  location?: string;
}

/** A [PT] rule's work: the path (decoded, latin-1 bytes) and query the request goes on with. */
export interface RewrittenPath {
  status: 0;
  path: string;
  query: string;
}

interface CompiledCond {
  cond: RewriteCond;
  regex: RegExp | null;
}

interface CompiledRule {
  rule: RewriteRule;
  regex: RegExp;
  conds: CompiledCond[];
}

export class Rewriter {
  private readonly rules: CompiledRule[];

  constructor(rules: RewriteRule[]) {
    this.rules = rules.map((rule) => ({
      rule,
      regex: new RegExp(rule.pattern, rule.nocase ? "i" : ""),
      conds: rule.conds.map((cond) => ({ cond, regex: cond.kind === "regex" ? new RegExp(cond.pattern, cond.nocase ? "i" : "") : null })),
    }));
  }

  /**
   * The answer the rules give, or null: the request goes on as it came. As in Apache, a redirect rule
   * without [L] does not end the pass: the rules after it see the URL it made (absolute, so `^/...`
   * no longer matches), and the last redirect's status and URL are the answer. F and G answer at once.
   */
  apply(request: RewriteRequest): RewriteAnswer | RewrittenPath | null {
    let uri = request.path;
    let query = request.query;
    let status = 0;
    let noEscape = false;
    let rewritten = false;
    for (const { rule, regex, conds } of this.rules) {
      const found = regex.exec(uri);
      if (rule.negate ? found : !found) continue;
      const ruleGroups: string[] = rule.negate ? [] : [...found!];
      const condGroups = this.conditions(conds, ruleGroups, request);
      if (condGroups === null) continue;
      if (rule.status >= 400) return { status: rule.status }; // F, G, R=4xx/5xx
      if (rule.substitution !== "-") {
        let target = expand(rule.substitution, ruleGroups, condGroups, request);
        const mark = target.indexOf("?");
        const own = mark >= 0 ? target.slice(mark + 1) : null;
        if (own !== null) target = target.slice(0, mark);
        // The query goes on unless [QSD]; a query in the substitution replaces it, or comes first with [QSA].
        const kept = rule.queryDiscard ? "" : query;
        query = own === null ? kept : rule.queryAppend && kept ? (own ? `${own}&${kept}` : kept) : own;
        if (rule.passThrough && rule.status === 0) {
          uri = target; // [PT] (and L): a path on this server, which Alias and WSGIScriptAlias map
          rewritten = true;
        } else {
          uri = absoluteUrl(target, request.base);
          status = rule.status || 302; // an absolute URL redirects without [R]
          noEscape = rule.noEscape;
        }
      }
      if (rule.last) break;
    }
    if (status === 0) return rewritten ? { status: 0, path: uri, query } : null;
    return { status, location: (noEscape ? uri : escapeUrl(uri)) + (query ? `?${query}` : "") };
  }

  /** The last matching regular expression condition's groups (%N), or null when the conditions fail. */
  private conditions(conds: CompiledCond[], ruleGroups: string[], request: RewriteRequest): string[] | null {
    let groups: string[] = [];
    for (let i = 0; i < conds.length; i++) {
      const { cond, regex } = conds[i]!;
      const test = expand(cond.test, ruleGroups, groups, request);
      let matched: boolean;
      let captured: string[] | null = null;
      if (regex) {
        const found = regex.exec(test);
        matched = found !== null;
        if (found) captured = [...found];
      } else matched = compare(cond, test);
      if (cond.negate) matched = !matched;
      if (cond.or) {
        if (!matched) continue; // the next one may still be true
        if (captured && !cond.negate) groups = captured;
        // This chain holds: skip the rest of it (its last member, without [OR], included).
        while (i < conds.length && conds[i]!.cond.or) i++;
        continue;
      }
      if (!matched) return null;
      if (captured && !cond.negate) groups = captured;
    }
    return groups;
  }
}

/** $N from the rule, %N from the last condition, %{NAME} from the request; a backslash keeps the next character. */
function expand(template: string, ruleGroups: string[], condGroups: string[], request: RewriteRequest): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const next = template[i + 1] ?? "";
    if (c === "\\" && i + 1 < template.length) out += template[++i];
    else if (c === "$" && /[0-9]/.test(next)) out += ruleGroups[Number(template[++i])] ?? "";
    else if (c === "%" && /[0-9]/.test(next)) out += condGroups[Number(template[++i])] ?? "";
    else if (c === "%" && next === "{") {
      const end = template.indexOf("}", i);
      if (end < 0) out += c;
      else {
        out += variable(template.slice(i + 2, end), request);
        i = end;
      }
    } else if (c === "$" && next === "{") {
      const end = template.indexOf("}", i); // a RewriteMap lookup: not implemented, reads as empty (warned at load)
      if (end < 0) out += c;
      else i = end;
    } else out += c;
  }
  return out;
}

/** mod_rewrite's server variables, %{NAME} (%{HTTP:Header} apart); an HTTP_ name not listed reads as empty, as in Apache. */
export const REWRITE_VARIABLES: Record<string, (request: RewriteRequest) => string> = {
  REQUEST_URI: (request) => request.path,
  REQUEST_FILENAME: (request) => request.path, // in a server context, before any mapping: the path
  QUERY_STRING: (request) => request.query,
  SERVER_NAME: (request) => request.serverName,
  SERVER_PORT: (request) => request.serverPort,
  SERVER_PROTOCOL: (request) => request.protocol,
  REQUEST_METHOD: (request) => request.method,
  REQUEST_SCHEME: (request) => request.base.scheme,
  HTTPS: (request) => (request.base.scheme === "https" ? "on" : "off"),
  REMOTE_ADDR: (request) => request.remoteAddr,
  REMOTE_PORT: (request) => request.remotePort,
  THE_REQUEST: (request) => request.requestLine,
  DOCUMENT_ROOT: (request) => request.documentRoot,
  HTTP_ACCEPT: (request) => request.header("Accept"),
  HTTP_COOKIE: (request) => request.header("Cookie"),
  HTTP_FORWARDED: (request) => request.header("Forwarded"),
  HTTP_HOST: (request) => request.header("Host"),
  HTTP_PROXY_CONNECTION: (request) => request.header("Proxy-Connection"),
  HTTP_REFERER: (request) => request.header("Referer"),
  HTTP_USER_AGENT: (request) => request.header("User-Agent"),
};

function variable(name: string, request: RewriteRequest): string {
  if (/^HTTP:/i.test(name)) return request.header(name.slice(5));
  return REWRITE_VARIABLES[name.toUpperCase()]?.(request) ?? "";
}

function compare(cond: RewriteCond, test: string): boolean {
  const fold = (text: string) => (cond.nocase ? text.toLowerCase() : text);
  switch (cond.kind) {
    case "=":
      return fold(test) === fold(cond.pattern);
    case "<":
      return fold(test) < fold(cond.pattern);
    case ">":
      return fold(test) > fold(cond.pattern);
    default: {
      try {
        const info = statSync(test);
        return cond.kind === "-d" ? info.isDirectory() : cond.kind === "-f" ? info.isFile() : info.isFile() && info.size > 0;
      } catch {
        return false;
      }
    }
  }
}

/** A redirect's URL escaped as mod_rewrite escapes it without [NE]: the path, after scheme and host. */
function escapeUrl(url: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(url);
  return authority ? authority[0] + escapePath(url.slice(authority[0].length)) : escapePath(url);
}
