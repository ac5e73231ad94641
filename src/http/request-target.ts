// The request target as Apache reads it (ap_parse_uri, ap_normalize_path, ap_unescape_url):
// origin-form or absolute-form; %2e decoded and dot segments resolved before the rest is decoded
// (so `%2e%2e` cannot climb either); repeated slashes merged; a path that would climb above the root
// is a 400; an encoded slash is a 404 (AllowEncodedSlashes Off) and an encoded NUL a 400.
import { validHost } from "./host-header.ts";

export interface Target {
  /** Path and query as received, still percent-encoded (REQUEST_URI). */
  raw: string;
  /** The decoded, normalised path as latin-1 bytes (what aliases match, and PATH_INFO is cut from). */
  path: string;
  query: string;
  /** The authority of an absolute-form target, which overrides the Host header (RFC 9112 3.2.2). */
  host: string | null;
  /** A mod_rewrite [PT] rule made `path` and `query`: the path it was given (SCRIPT_URL). */
  rewrittenFrom?: string;
}

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]+)(.*)$/i;

/** An absolute-form target's authority ("http://a.example:8/x" -> "a.example:8"), else null. */
export function targetAuthority(target: string): string | null {
  return target.charCodeAt(0) === 47 /* / */ ? null : ABSOLUTE_FORM.exec(target)?.[1] ?? null;
}

export function parseTarget(target: string): Target | number {
  let raw = target;
  let host: string | null = null;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const absolute = ABSOLUTE_FORM.exec(target);
    if (!absolute) return 400;
    host = absolute[1]!;
    if (!validHost(host)) return 400;
    raw = absolute[2] || "/";
    if (raw.charCodeAt(0) !== 47) raw = "/" + raw;
  }
  const queryStart = raw.indexOf("?");
  const encodedPath = queryStart < 0 ? raw : raw.slice(0, queryStart);
  const path = decodePath(encodedPath);
  if (typeof path === "number") return path;
  return { raw, path, query: queryStart < 0 ? "" : raw.slice(queryStart + 1), host };
}

const ENCODED_DOT = /%2e/gi;
const PERCENT = /%([0-9A-Fa-f]{2})/g;

/** Decodes and normalises a URL path into latin-1 bytes (PEP 3333); a status number when it is refused. */
export function decodePath(encoded: string): string | number {
  let path = encoded.includes("%") ? encoded.replace(ENCODED_DOT, ".") : encoded;
  if (path.includes("//")) path = path.replace(/\/{2,}/g, "/");
  if (path.includes("/.")) {
    const resolved = removeDotSegments(path);
    if (resolved === null) return 400;
    path = resolved;
  }
  if (!path.includes("%")) return path;
  if (/%2f/i.test(path)) return 404;
  if (/%00/.test(path)) return 400;
  return path.replace(PERCENT, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** RFC 3986 5.2.4 for an absolute path; null if ".." would climb above the root. */
function removeDotSegments(path: string): string | null {
  const segments = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === ".") {
      if (last) out.push("");
    } else if (segment === "..") {
      if (out.length === 0) return null;
      out.pop();
      if (last) out.push("");
    } else out.push(segment);
  }
  return "/" + out.join("/");
}
