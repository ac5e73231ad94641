// Redirect and RedirectMatch (mod_alias): the first rule that matches the path answers, with the rest
// of the path (Redirect) or the substituted target (RedirectMatch) URL-escaped, a local target made
// absolute from the Host the client asked for, and the query string carried over unless the target
// has its own.
import type { Redirect } from "../../config/site.ts";
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

export function findRedirect(rules: Redirect[], path: string, query: string, base: UrlBase): RedirectHit | null {
  for (const rule of rules) {
    let location: string;
    if (rule.match === "prefix") {
      const length = prefixLength(rule.url, path);
      if (length < 0) continue;
      location = rule.location === undefined ? "" : rule.location + escapePath(path.slice(length));
    } else {
      const match = regex(rule.url).exec(path);
      if (!match) continue;
      location = rule.location === undefined ? "" : escapePath(substitute(rule.location, match));
    }
    if (rule.location === undefined) return { status: rule.status };
    return { status: rule.status, location: withQuery(absoluteUrl(location, base), query) };
  }
  return null;
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
    const colon = base.host.lastIndexOf(":");
    if (colon > base.host.lastIndexOf("]")) {
      host = base.host.slice(0, colon);
      port = base.host.slice(colon + 1);
    } else host = base.host;
  }
  const standard = port === "" || (base.scheme === "https" && port === "443") || (base.scheme === "http" && port === "80");
  return `${base.scheme}://${host}${standard ? "" : `:${port}`}${location}`;
}
