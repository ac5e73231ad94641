// Include/IncludeOptional's file lists: wildcards (`*`, `?`, `[...]`) in any path component, matches
// in alphabetical order, a leading dot matched only by a pattern's leading dot, and a directory
// standing for every file below it (httpd's ap_process_fnmatch_configs).
import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";

const WILDCARD = /[*?[]/;

export function hasWildcard(path: string): boolean {
  return WILDCARD.test(path);
}

const matchers = new Map<string, (name: string) => boolean>();

/** fnmatch(3) with FNM_PATHNAME | FNM_PERIOD, for one path component; made once per pattern (requests match them too). */
export function componentMatcher(pattern: string): (name: string) => boolean {
  let matcher = matchers.get(pattern);
  if (!matcher) matchers.set(pattern, (matcher = compileComponent(pattern)));
  return matcher;
}

function compileComponent(pattern: string): (name: string) => boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      source += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  const regex = new RegExp(`^${source}$`);
  return (name) => (!name.startsWith(".") || pattern.startsWith(".")) && regex.test(name);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every file under a directory (dot files left out), sorted, depth first. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (isDirectory(path)) out.push(...filesBelow(path));
    else out.push(path);
  }
  return out;
}

export interface Expansion {
  files: string[];
  /** Set when nothing was found: why, in httpd's words. */
  missing?: string;
}

export function expandInclude(pattern: string, base: string): Expansion {
  const absolute = isAbsolute(pattern) ? pattern : resolve(base, pattern);
  if (!hasWildcard(absolute)) {
    if (!exists(absolute)) return { files: [], missing: `could not open configuration file ${absolute}: No such file or directory` };
    return { files: isDirectory(absolute) ? filesBelow(absolute) : [absolute] };
  }
  const parts = absolute.split(sep).filter((part) => part !== "");
  let candidates: string[] = [sep];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of candidates) {
      if (!hasWildcard(part)) {
        const path = join(dir, part);
        if (last ? exists(path) : isDirectory(path)) next.push(path);
        continue;
      }
      if (!isDirectory(dir)) continue;
      const matches = componentMatcher(part);
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (matches(name) && (last || isDirectory(path))) next.push(path);
      }
    }
    candidates = next;
    if (candidates.length === 0) {
      const where = sep + parts.slice(0, i).join(sep);
      return { files: [], missing: `no matches for the wildcard '${part}' in '${where}'` };
    }
  }
  return { files: candidates.flatMap((path) => (isDirectory(path) ? filesBelow(path) : [path])) };
}
