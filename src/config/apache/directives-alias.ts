// mod_alias (Alias, AliasMatch, Redirect...), mod_dir (DirectoryIndex), mod_env (SetEnv) and
// mod_headers (Header, RequestHeader).
import { ConfigError, type Source } from "../diagnostics.ts";
import type { HeaderAction, HeaderRule, Redirect } from "../site.ts";
import { ANYWHERE, HOST, pathArg, regexArg, type DirectiveSpec, type Walk } from "./context.ts";

const REDIRECT_STATUS: Record<string, number> = { permanent: 301, temp: 302, seeother: 303, gone: 410 };

/** A <Location>'s own path, for the directives that may leave their URL-path out inside one. */
function locationPath(walk: Walk): string | undefined {
  return walk.section?.kind === "location" && !walk.section.regex ? walk.section.pattern : undefined;
}

function redirect(walk: Walk, name: string, args: string[], source: Source, regex: boolean, fixedStatus?: number): void {
  let status = fixedStatus ?? 302;
  let rest = args;
  if (fixedStatus === undefined && args.length > 0) {
    const first = args[0]!.toLowerCase();
    if (first in REDIRECT_STATUS) {
      status = REDIRECT_STATUS[first]!;
      rest = args.slice(1);
    } else if (/^\d{3}$/.test(first)) {
      status = +first;
      if (status < 300 || status > 599) throw new ConfigError(source, `${name}: status ${status} is not a redirect or error status`);
      rest = args.slice(1);
    }
  }
  const takesUrl = status >= 300 && status < 400;
  const inSection = walk.where !== "server" && walk.where !== "vhost";
  const wanted = (takesUrl ? 1 : 0) + (inSection && !regex ? 0 : 1);
  // Inside a section the URL-path may be left out: the section's own path is it.
  const withPath = rest.length === (takesUrl ? 2 : 1);
  if (rest.length !== wanted && !withPath) {
    throw new ConfigError(source, `${name}: expected ${regex ? "REGEX" : "URL-PATH"}${takesUrl ? " URL" : ""} after status ${status}, got ${rest.length} arguments`);
  }
  let url: string | undefined = withPath ? rest[0] : locationPath(walk);
  if (url === undefined) throw new ConfigError(source, `${name} without a URL-path is only allowed inside a <Location>`);
  if (regex) regexArg(name, url, source);
  else if (!url.startsWith("/")) throw new ConfigError(source, `${name}: the URL-path must start with '/', got '${url}'`);
  const location = takesUrl ? rest.at(-1) : undefined;
  if (location !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith("/")) {
    throw new ConfigError(source, `${name} to non-URL '${location}' (give an absolute URL or a path starting with '/')`);
  }
  const rule: Redirect = { match: regex ? "regex" : "prefix", url, status, location, source };
  if (inSection) (walk.settings.redirects ??= []).push(rule);
  else walk.vhost.redirects.push(rule);
}

/** Alias maps the rest of the URL onto its target as written: a trailing slash there is significant. */
function keepSlash(written: string, resolved: string): string {
  return written.endsWith("/") && !resolved.endsWith("/") ? resolved + "/" : resolved;
}

const HEADER_ACTIONS = new Set<HeaderAction>(["set", "unset", "add", "append", "merge", "setifempty", "edit", "edit*"]);
const HEADER_ACTIONS_NOT_IMPLEMENTED = new Set(["echo", "note"]);

/** Header's and RequestHeader's ACTION NAME [VALUE] (edit: NAME REGEX VALUE) [condition]; null: ignored, with a warning. */
function headerRule(walk: Walk, directive: string, rest: string[], source: Source): Omit<HeaderRule, "always"> | null {
  const action = rest[0]!.toLowerCase();
  if (HEADER_ACTIONS_NOT_IMPLEMENTED.has(action)) {
    walk.diagnostics.warn(source, `${directive} ${action} is not implemented by wsgi-bin: ignored`);
    return null;
  }
  if (!HEADER_ACTIONS.has(action as HeaderAction)) throw new ConfigError(source, `${directive}: unknown action '${rest[0]}'`);
  const wanted = action === "unset" ? 1 : action.startsWith("edit") ? 3 : 2;
  if (rest.length < wanted + 1) {
    throw new ConfigError(source, `${directive} ${action} needs ${wanted === 1 ? "a header name" : wanted === 2 ? "a header name and a value" : "a header name, a regular expression and a replacement"}`);
  }
  if (rest.length > wanted + 1) {
    walk.diagnostics.warn(source, `${directive}: the condition '${rest.slice(wanted + 1).join(" ")}' is not implemented by wsgi-bin: this ${directive} is ignored`);
    return null;
  }
  const name = rest[1]!;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ConfigError(source, `${directive}: '${name}' is not a valid header name`);
  const value = wanted === 1 ? undefined : rest.at(-1)!;
  // %t, %D, %% and (in RequestHeader) %{VAR}e are expanded (http/site/header-format.ts); the others not.
  const unexpanded = directive === "RequestHeader" ? /%(?:[lib]|\{[^}]*\}[osC])/ : /%(?:[lib]|\{[^}]*\}[eosC])/;
  if (value !== undefined && !action.startsWith("edit") && unexpanded.test(value.replace(/%%/g, ""))) {
    walk.diagnostics.warn(source, `${directive} ${action} ${name}: format specifiers other than %t, %D and %%${directive === "RequestHeader" ? " and %{VAR}e" : ""} are not expanded by wsgi-bin: they are sent as written`);
  }
  if (wanted === 3) regexArg(`${directive} ${action}`, rest[2]!, source);
  return { action: action as HeaderAction, name, value, pattern: wanted === 3 ? rest[2] : undefined, source };
}

export const ALIAS_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "Alias", where: [...HOST, "location"], args: [1, 2], usage: "[URL-PATH] FILE-OR-DIRECTORY",
    apply(walk, args, source) {
      const inLocation = walk.where === "location";
      if (inLocation !== (args.length === 1)) {
        throw new ConfigError(source, inLocation ? "Alias inside a <Location> takes one argument: the path" : "Alias takes two arguments: URL-PATH FILE-OR-DIRECTORY");
      }
      const url = inLocation ? locationPath(walk) : args[0]!;
      if (url === undefined) throw new ConfigError(source, "Alias with one argument needs a <Location> with a plain path");
      if (!url.startsWith("/")) throw new ConfigError(source, `Alias: the URL-path must start with '/', got '${url}'`);
      walk.vhost.staticMappings.push({ kind: "alias", url, target: keepSlash(args.at(-1)!, pathArg(walk, args.at(-1)!, source)), source });
    },
  },
  {
    name: "AliasMatch", where: HOST, args: [2, 2], usage: "REGEX FILE-OR-DIRECTORY",
    apply(walk, args, source) {
      regexArg("AliasMatch", args[0]!, source);
      walk.vhost.staticMappings.push({ kind: "alias-match", url: args[0]!, target: keepSlash(args[1]!, pathArg(walk, args[1]!, source)), source });
    },
  },
  {
    name: "Redirect", where: ANYWHERE, args: [1, 3], usage: "[STATUS] URL-PATH URL",
    apply: (walk, args, source) => redirect(walk, "Redirect", args, source, false),
  },
  {
    name: "RedirectMatch", where: ANYWHERE, args: [2, 3], usage: "[STATUS] REGEX URL",
    apply: (walk, args, source) => redirect(walk, "RedirectMatch", args, source, true),
  },
  {
    name: "RedirectPermanent", where: ANYWHERE, args: [1, 2], usage: "URL-PATH URL",
    apply: (walk, args, source) => redirect(walk, "RedirectPermanent", args, source, false, 301),
  },
  {
    name: "RedirectTemp", where: ANYWHERE, args: [1, 2], usage: "URL-PATH URL",
    apply: (walk, args, source) => redirect(walk, "RedirectTemp", args, source, false, 302),
  },
  {
    name: "DirectoryIndex", where: ANYWHERE, args: [1, Infinity], usage: "disabled | FILE...",
    apply(walk, args, source) {
      if (args.some((a) => a.toLowerCase() === "disabled")) {
        if (args.length > 1) throw new ConfigError(source, "DirectoryIndex disabled takes no other argument");
        walk.settings.directoryIndex = [];
        return;
      }
      // Several DirectoryIndex lines in one context add to the list (httpd 2.4).
      walk.settings.directoryIndex = [...(walk.settings.directoryIndex ?? []), ...args];
    },
  },
  {
    name: "SetEnv", where: ANYWHERE, args: [1, 2], usage: "NAME [VALUE]",
    apply(walk, args, source) {
      walk.settings.setEnv.push({ name: args[0]!, value: args[1] ?? "", source });
    },
  },
  {
    name: "Header", where: ANYWHERE, args: [2, 6], usage: "[always|onsuccess] ACTION NAME [VALUE] (edit: NAME REGEX VALUE)",
    apply(walk, args, source) {
      const condition = args[0]!.toLowerCase();
      const always = condition === "always";
      const rule = headerRule(walk, "Header", always || condition === "onsuccess" ? args.slice(1) : args, source);
      if (rule) walk.settings.headers.push({ ...rule, always });
    },
  },
  {
    name: "RequestHeader", where: ANYWHERE, args: [2, 5], usage: "ACTION NAME [VALUE] [early] (edit: NAME REGEX VALUE)",
    apply(walk, args, source) {
      // early (applied before the request is mapped) changes nothing the app sees.
      const rule = headerRule(walk, "RequestHeader", args.at(-1)!.toLowerCase() === "early" ? args.slice(0, -1) : args, source);
      if (rule) (walk.settings.requestHeaders ??= []).push({ ...rule, always: false });
    },
  },
];
