// Redirect and RedirectMatch (mod_alias): the first rule that matches the path answers, with the rest
// of the path (Redirect) or the substituted target up to its query (RedirectMatch) URL-escaped, a local target made
// absolute from the Host the client asked for, and the query string carried over unless the target
// has its own.
import type { Redirect } from "../../config/site.ts";
import { hostName, hostPort } from "../host-header.ts";
import { escapePath, prefixLength, regex, substitute } from "./url-map.ts";

export interface RedirectHit {
  status: number;
  /** Absent for statuses that send none (410 Gone and the like). */
  location?: string;
}

/** Where the response's own URL starts: scheme://host[:port], from Host (UseCanonicalName Off), else the server's name. */
export interface UrlBase {
  scheme: string;
  host: string | null;
  serverName: string;
}

/** The first rule matching a path: its status and target (before the query and the host are added). */
export interface RedirectMatch {
  status: number;
  /** Absent for statuses that send none (410 Gone and the like). */
  location?: string;
}

export function matchRedirect(rules: Redirect[], path: string): RedirectMatch | null {
  for (const rule of rules) {
    if (rule.match === "prefix") {
      const length = prefixLength(rule.url, path);
      if (length < 0) continue;
      return { status: rule.status, location: rule.location === undefined ? undefined : rule.location + escapePath(path.slice(length)) };
    }
    const match = regex(rule.url).exec(path);
    if (!match) continue;
    return { status: rule.status, location: rule.location === undefined ? undefined : escapeTarget(substitute(rule.location, match)) };
  }
  return null;
}

/**
 * mod_alias on a RedirectMatch target (apr_uri_parse, then ap_escape_uri): the URL up to its query or
 * fragment is escaped, and they are kept as they are. Checked against Apache 2.4.71:
 * `http://example.com/?a=1&b=$1` stays a query.
 */
function escapeTarget(target: string): string {
  const cut = target.search(/[?#]/);
  return cut < 0 ? escapePath(target) : escapePath(target.slice(0, cut)) + target.slice(cut);
}

/** A matched rule as the response sends it: its Location absolute, with the request's query. */
export function redirectHit(found: RedirectMatch, query: string, base: UrlBase): RedirectHit {
  if (found.location === undefined) return { status: found.status };
  return { status: found.status, location: withQuery(absoluteUrl(found.location, base), query) };
}

export function findRedirect(rules: Redirect[], path: string, query: string, base: UrlBase): RedirectHit | null {
  const found = matchRedirect(rules, path);
  return found && redirectHit(found, query, base);
}

function withQuery(location: string, query: string): string {
  return query && !location.includes("?") ? `${location}?${query}` : location;
}

/**
 * ap_construct_url: a path on this server as an absolute URL. As Apache's ap_get_server_port, the
 * port is Host's, else the scheme's own (left out, as it always is when it is the scheme's).
 */
export function absoluteUrl(location: string, base: UrlBase): string {
  if (!location.startsWith("/")) return location;
  let host = base.serverName;
  let port = "";
  if (base.host) {
    host = hostName(base.host);
    port = hostPort(base.host) ?? "";
  }
  const standard = port === "" || (base.scheme === "https" && port === "443") || (base.scheme === "http" && port === "80");
  return `${base.scheme}://${host}${standard ? "" : `:${port}`}${location}`;
}
