// mod_alias's URL matching, shared by Redirect, Alias and their Match forms: a URL-path prefix matches
// on segment boundaries (a trailing slash in it then requires one), a regular expression anywhere in
// the path; Match targets take $0-$9 from the match.

/** The length of `path` an Alias/Redirect URL-path covers, or -1. `/a` covers /a and /a/x, `/a/` only /a/... */
export function prefixLength(url: string, path: string): number {
  if (!path.startsWith(url)) return -1;
  if (url.endsWith("/") || path.length === url.length || path.charCodeAt(url.length) === 47 /* / */) return url.length;
  return -1;
}

const compiled = new Map<string, RegExp>();

/** The configuration's regular expressions, compiled once each (they were checked when it was read). */
export function regex(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) compiled.set(source, (re = new RegExp(source)));
  return re;
}

/**
 * ap_pregsub: $0-$9 from the match; a backslash takes the next character as it is. `&` is itself
 * (httpd 2.4 gave `?a=1&b=$1` as `?a=1&b=x`, checked against Apache 2.4.71).
 */
export function substitute(template: string, match: RegExpExecArray): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "\\" && i + 1 < template.length) out += template[++i];
    else if (c === "$" && /[0-9]/.test(template[i + 1] ?? "")) out += match[Number(template[++i])] ?? "";
    else out += c;
  }
  return out;
}

/** Characters ap_os_escape_path leaves as they are in a path. */
const PATH_SAFE = /[^A-Za-z0-9$\-_.+!*'(),:;@&=/~]/g;

/** ap_escape_uri: a decoded (latin-1) path made fit for a URL, with Apache's lower-case hex. */
export function escapePath(path: string): string {
  return path.replace(PATH_SAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) return encodeURIComponent(c).toLowerCase();
    return "%" + code.toString(16).padStart(2, "0");
  });
}
