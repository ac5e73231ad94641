// mod_rewrite in a server or virtual host context, for what such configurations mostly do with it:
// redirect (http to https, one host name to another, old paths to new ones), refuse (F, G), and pass
// a new path to Alias and WSGIScriptAlias ([PT]). A rule that rewrites internally without [PT], and
// the per-directory form, are warnings: the request is then served as if the rule were not there.
import { ConfigError, type Source } from "../diagnostics.ts";
import type { RewriteCond, RewriteRule, VirtualHost } from "../site.ts";
import { REWRITE_VARIABLES } from "../../http/site/rewrite.ts";
import { ANYWHERE, flagArg, type DirectiveSpec, type Walk } from "./context.ts";

const REDIRECT_STATUS: Record<string, number> = { permanent: 301, temp: 302, seeother: 303 };

/** RewriteCond lines waiting for the RewriteRule they belong to, per server or virtual host. */
const pendingConds = new WeakMap<VirtualHost, RewriteCond[]>();

/** Splits `[A,B=c]` into its flags, lower-cased names with their values. */
function flags(name: string, arg: string | undefined, source: Source): [string, string][] {
  if (arg === undefined) return [];
  if (!arg.startsWith("[") || !arg.endsWith("]")) throw new ConfigError(source, `${name}: flags must be written [FLAG,...], got '${arg}'`);
  return arg.slice(1, -1).split(",").filter(Boolean).map((flag) => {
    const eq = flag.indexOf("=");
    return eq < 0 ? [flag.trim().toLowerCase(), ""] : [flag.slice(0, eq).trim().toLowerCase(), flag.slice(eq + 1).trim()];
  });
}

function regexOf(name: string, pattern: string, nocase: boolean, source: Source): void {
  try {
    new RegExp(pattern, nocase ? "i" : "");
  } catch (error) {
    throw new ConfigError(source, `${name}: invalid regular expression '${pattern}': ${(error as Error).message}`);
  }
}

/** The %{NAME}s of a string that wsgi-bin does not know: each a warning (it reads as empty). */
function checkVariables(walk: Walk, name: string, text: string, source: Source): void {
  for (const [, variable] of text.matchAll(/%\{([^}]*)\}/g)) {
    if (variable!.toUpperCase() in REWRITE_VARIABLES || /^HTTP:[!#$%&'*+.^_`|~0-9A-Za-z-]+$/i.test(variable!)) continue;
    if (/^HTTP_/i.test(variable!)) {
      walk.diagnostics.warn(source, `${name}: %{${variable}} is no mod_rewrite variable (a request header is %{HTTP:Name}): it reads as empty, in Apache too`);
    } else walk.diagnostics.warn(source, `${name}: the variable %{${variable}} is not implemented by wsgi-bin: it reads as empty`);
  }
  if (/\$\{/.test(text)) walk.diagnostics.warn(source, `${name}: RewriteMap lookups (\${...}) are not implemented by wsgi-bin: they read as empty`);
}

function rewriteCond(walk: Walk, args: string[], source: Source): void {
  const [test, written, flagText] = args as [string, string, string | undefined];
  let nocase = false;
  let or = false;
  for (const [flag] of flags("RewriteCond", flagText, source)) {
    if (flag === "nc" || flag === "nocase") nocase = true;
    else if (flag === "or" || flag === "ornext") or = true;
    else walk.diagnostics.warn(source, `RewriteCond: the flag [${flag.toUpperCase()}] is not implemented by wsgi-bin: ignored`);
  }
  const negate = written.startsWith("!");
  const pattern = negate ? written.slice(1) : written;
  let cond: RewriteCond;
  if (/^-[fds]$/.test(pattern)) cond = { test, pattern: "", kind: pattern as "-f" | "-d" | "-s", negate, nocase, or, source };
  else if (/^[=<>]/.test(pattern) && !/^[<>]=/.test(pattern)) {
    cond = { test, pattern: pattern.slice(1).replace(/^""$/, ""), kind: pattern[0] as "=" | "<" | ">", negate, nocase, or, source };
  } else {
    if (/^-/.test(pattern) || /^[<>]=/.test(pattern)) throw new ConfigError(source, `RewriteCond: the test '${pattern}' is not implemented by wsgi-bin (regular expressions, =, <, >, -f, -d, -s are)`);
    regexOf("RewriteCond", pattern, nocase, source);
    cond = { test, pattern, kind: "regex", negate, nocase, or, source };
  }
  checkVariables(walk, "RewriteCond", test, source);
  const pending = pendingConds.get(walk.vhost) ?? [];
  pending.push(cond);
  pendingConds.set(walk.vhost, pending);
}

function rewriteRule(walk: Walk, args: string[], source: Source): void {
  const [written, substitution, flagText] = args as [string, string, string | undefined];
  const conds = pendingConds.get(walk.vhost) ?? [];
  pendingConds.delete(walk.vhost);
  const negate = written.startsWith("!");
  const pattern = negate ? written.slice(1) : written;
  const rule: RewriteRule = {
    pattern, negate, substitution, conds, status: 0, nocase: false, last: false, noEscape: false, queryAppend: false, queryDiscard: false, source,
  };
  let redirect = false;
  const ignored: string[] = [];
  for (const [flag, value] of flags("RewriteRule", flagText, source)) {
    if (flag === "r" || flag === "redirect") {
      redirect = true;
      const status = value === "" ? 302 : REDIRECT_STATUS[value.toLowerCase()] ?? Number(value);
      if (!Number.isInteger(status) || status < 300 || status > 599) throw new ConfigError(source, `RewriteRule: [R=${value}] is not a redirect or error status`);
      rule.status = status;
    } else if (flag === "f" || flag === "forbidden") rule.status = 403;
    else if (flag === "g" || flag === "gone") rule.status = 410;
    else if (flag === "l" || flag === "last" || flag === "end") rule.last = true;
    else if (flag === "nc" || flag === "nocase") rule.nocase = true;
    else if (flag === "ne" || flag === "noescape") rule.noEscape = true;
    else if (flag === "qsa" || flag === "qsappend") rule.queryAppend = true;
    else if (flag === "qsd" || flag === "qsdiscard") rule.queryDiscard = true;
    else if (flag === "pt" || flag === "passthrough") rule.passThrough = rule.last = true;
    else ignored.push(flag.toUpperCase() + (value ? `=${value}` : ""));
  }
  regexOf("RewriteRule", pattern, rule.nocase, source);
  checkVariables(walk, "RewriteRule", substitution, source);
  for (const cond of conds) if (cond.kind === "regex") regexOf("RewriteCond", cond.pattern, cond.nocase, cond.source ?? source);
  if (ignored.length) {
    walk.diagnostics.warn(source, `RewriteRule: the flag${ignored.length > 1 ? "s" : ""} [${ignored.join(",")}] ${ignored.length > 1 ? "are" : "is"} not implemented by wsgi-bin: this rule is ignored`);
    return;
  }
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(substitution);
  if (substitution !== "-" && !redirect && absolute) rule.status = 302; // an absolute URL redirects without R
  else if (substitution !== "-" && !redirect && rule.status === 0 && !rule.passThrough) {
    // Without [PT] Apache takes the new path for a file under DocumentRoot, which no Alias or
    // WSGIScriptAlias maps: mod_wsgi's documentation asks for [PT].
    walk.diagnostics.warn(source, `RewriteRule: rewriting to '${substitution}' on this server (an internal rewrite) is not implemented by wsgi-bin without [PT]: this rule is ignored (add [PT] to pass the new path to Alias and WSGIScriptAlias, or [R] to redirect there)`);
    return;
  }
  (walk.vhost.rewrites ??= []).push(rule);
}

/** In a <Directory>, <Files> or <Location> (the per-directory form): a warning, and nothing more. */
function serverContextOnly(apply: (walk: Walk, args: string[], source: Source) => void): DirectiveSpec["apply"] {
  return (walk, args, source) => {
    if (walk.where === "server" || walk.where === "vhost") return apply(walk, args, source);
    walk.diagnostics.warn(source, "mod_rewrite inside a <Directory>, <Files> or <Location> (per-directory rewriting) is not implemented by wsgi-bin: ignored; put the rules in the server or <VirtualHost> itself");
  };
}

export const REWRITE_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "RewriteEngine", where: ANYWHERE, args: [1, 1], usage: "On|Off",
    apply: serverContextOnly((walk, args, source) => {
      walk.vhost.rewriteEngine = flagArg("RewriteEngine", args[0]!, source);
    }),
  },
  { name: "RewriteCond", where: ANYWHERE, args: [2, 3], usage: "TESTSTRING CONDPATTERN [FLAGS]", apply: serverContextOnly(rewriteCond) },
  { name: "RewriteRule", where: ANYWHERE, args: [2, 3], usage: "PATTERN SUBSTITUTION [FLAGS]", apply: serverContextOnly(rewriteRule) },
];
