// The flags for one host's routes beyond --alias, each the Apache or mod_wsgi directive it names (the
// names mod_wsgi-express uses where it has one): read here into directive lines, which
// src/config/flag-directives.ts applies as a configuration file's lines are applied.
import { isAbsolute, resolve } from "node:path";
import { splitWords } from "../config/apache/lexer.ts";
import { ConfigError, flagSource } from "../config/diagnostics.ts";
import type { DirectiveLine } from "../config/flag-directives.ts";
import { UsageError } from "./usage-error.ts";

interface SiteFlag {
  directive: string;
  place: DirectiveLine["place"];
  /** A switch takes no value: its directive's arguments are fixed. */
  switch?: true;
  /** The directive's arguments from the flag's value; paths made absolute from `cwd`. */
  args(value: string, cwd: string, flag: string): string[];
}

/** A path made absolute, its trailing slash kept (Alias maps `/x/` and `/x` differently). */
function absolute(path: string, cwd: string): string {
  const made = isAbsolute(path) ? resolve(path) : resolve(cwd, path);
  return path.endsWith("/") && !made.endsWith("/") ? `${made}/` : made;
}

/** NAME=VALUE-style values: split at the first "=" (a regex needing one writes \x3d). */
function pair(flag: string, value: string, shape: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--${flag} wants ${shape}, got '${value}'`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** The directive's own words, as a configuration file line would give them (quotes group words). */
function words(value: string, _cwd: string, flag: string): string[] {
  try {
    return splitWords(value, flagSource(`--${flag}`));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

const SCRIPT_OPTIONS = new Set(["application-group", "callable-object", "pass-authorization", "process-group"]);

export const SITE_FLAGS: Record<string, SiteFlag> = {
  "server-alias": {
    directive: "ServerAlias", place: "host",
    args(value, _cwd, flag) {
      if (!value || /\s/.test(value)) throw new UsageError(`--${flag} wants one host name (wildcards * and ? allowed), got '${value}'`);
      return [value];
    },
  },
  "document-root": { directive: "DocumentRoot", place: "host", args: (value, cwd) => [absolute(value, cwd)] },
  "url-alias": {
    directive: "Alias", place: "host",
    args(value, cwd, flag) {
      const [url, path] = pair(flag, value, "URL-PATH=FILE-OR-DIRECTORY");
      return [url, absolute(path, cwd)];
    },
  },
  "url-alias-match": {
    directive: "AliasMatch", place: "host",
    args(value, cwd, flag) {
      const [regex, path] = pair(flag, value, "REGEX=FILE-OR-DIRECTORY");
      return [regex, absolute(path, cwd)];
    },
  },
  "alias-match": {
    directive: "WSGIScriptAliasMatch", place: "host",
    args(value, cwd, flag) {
      const [regex, rest] = pair(flag, value, "REGEX=FILE[,OPTION=VALUE...]");
      const [file, ...options] = rest.split(",");
      for (const option of options) {
        if (!SCRIPT_OPTIONS.has(option.slice(0, option.indexOf("=")))) {
          throw new UsageError(`--${flag}: unknown option '${option}' (application-group=, callable-object=, pass-authorization=, process-group=)`);
        }
      }
      return [regex, absolute(file!, cwd), ...options];
    },
  },
  redirect: { directive: "Redirect", place: "host", args: words },
  "redirect-match": { directive: "RedirectMatch", place: "host", args: words },
  "directory-index": { directive: "DirectoryIndex", place: "host", args: words },
  "directory-listing": { directive: "Options", place: "host", switch: true, args: () => ["+Indexes"] },
  options: { directive: "Options", place: "host", args: words },
  // Require belongs in a section: the command line's is <Location />, which covers the whole host.
  require: { directive: "Require", place: { location: "/" }, args: words },
  // HTTP Basic authentication for the same <Location /> (mod_auth_basic, mod_authn_file, mod_authz_groupfile).
  "auth-user-file": { directive: "AuthUserFile", place: { location: "/" }, args: (value, cwd) => [absolute(value, cwd)] },
  "auth-group-file": { directive: "AuthGroupFile", place: { location: "/" }, args: (value, cwd) => [absolute(value, cwd)] },
  "auth-name": { directive: "AuthName", place: { location: "/" }, args: (value) => [value] },
  "auth-type": { directive: "AuthType", place: { location: "/" }, args: words },
  setenv: {
    directive: "SetEnv", place: "host",
    args(value, _cwd, flag) {
      const eq = value.indexOf("=");
      if (eq === 0 || value === "") throw new UsageError(`--${flag} wants NAME=VALUE (or NAME alone: an empty value), got '${value}'`);
      return eq < 0 ? [value] : [value.slice(0, eq), value.slice(eq + 1)];
    },
  },
  header: { directive: "Header", place: "host", args: words },
  "no-chunked-request": { directive: "WSGIChunkedRequest", place: "host", switch: true, args: () => ["Off"] },
  "trace-enable": { directive: "TraceEnable", place: "host", args: words },
  "restrict-embedded": { directive: "WSGIRestrictEmbedded", place: "server", switch: true, args: () => ["On"] },
};

/** The directive lines of the site flags given, in the order given (Redirects and Aliases match in that order). */
export function siteLines(given: { name: string; value: string }[], cwd: string): DirectiveLine[] {
  const lines: DirectiveLine[] = given.map(({ name, value }) => {
    const flag = SITE_FLAGS[name]!;
    return { flag: `--${name}`, name: flag.directive, args: flag.args(value, cwd, name), place: flag.place };
  });
  // --auth-user-file is Basic authentication unless --auth-type says otherwise; the realm must be named.
  const named = (flag: string) => given.some((item) => item.name === flag);
  if (named("auth-user-file")) {
    if (!named("auth-name")) throw new UsageError("--auth-user-file needs --auth-name REALM: the name a browser shows when it asks for a password (AuthName)");
    if (!named("auth-type")) lines.push({ flag: "--auth-user-file", name: "AuthType", args: ["Basic"], place: { location: "/" } });
  }
  return lines;
}

/** The directive lines that serve something by themselves (no --alias needed). */
export const SERVING_DIRECTIVES = new Set(["DocumentRoot", "Alias", "AliasMatch", "WSGIScriptAliasMatch", "Redirect", "RedirectMatch"]);

export const SITE_FLAGS_HELP = `
One host's other routes and settings (each the directive it names; refused with --config):
  --server-alias NAME            another name of the host (ServerAlias; wildcards * ?); repeatable;
                                 needs --server-name. With it the host answers its names only:
                                 a request naming another host gets 403 (mod_wsgi-express does
                                 so for --server-name alone)
  --document-root DIR            serve DIR's files at / after the aliases (DocumentRoot)
  --url-alias URL-PATH=PATH      serve a file or directory at URL-PATH (Alias); repeatable
  --url-alias-match REGEX=PATH   the same by regular expression, $1... in PATH (AliasMatch); repeatable
  --alias-match REGEX=FILE[,OPTION=VALUE...]
                                 mount scripts by regular expression, $1... in FILE
                                 (WSGIScriptAliasMatch; --alias's OPTIONs but parallel-interpreters=);
                                 repeatable
  --redirect '[STATUS] URL-PATH [URL]'
                                 Redirect's arguments as one value: permanent, temp, seeother, gone
                                 or a number; repeatable
  --redirect-match '[STATUS] REGEX [URL]'
                                 RedirectMatch's arguments as one value; repeatable
  --directory-index 'FILE...'    index files of a directory, or disabled (DirectoryIndex; default
                                 index.html); repeatable
  --directory-listing            list a directory without an index file (Options +Indexes)
  --options '[+|-]OPTION...'     Options' arguments: Indexes, FollowSymLinks (on by default), None, All
  --require 'RULE'               who may reach the host (Require in <Location />): all granted,
                                 all denied, ip RANGE..., local, valid-user, user NAME...,
                                 group NAME...; repeatable, any one grants
  --auth-user-file FILE          check the users a Require valid-user|user|group asks for against
                                 an htpasswd file, by HTTP Basic authentication (AuthUserFile, with
                                 AuthType Basic); needs --auth-name
  --auth-name REALM              the realm a 401 names, which browsers show (AuthName)
  --auth-group-file FILE         the groups Require group reads: 'group: user user...' lines
                                 (AuthGroupFile)
  --auth-type Basic|None         AuthType (Basic with --auth-user-file; None turns it off)
  --setenv NAME=VALUE            a variable in every request's environ (SetEnv); repeatable
  --header '[always] ACTION NAME [VALUE]'
                                 edit response headers (Header: set, unset, add, append, merge,
                                 setifempty); repeatable
  --no-chunked-request           answer a chunked request body with 411 (WSGIChunkedRequest Off)
  --trace-enable on|off|extended how TRACE is answered (TraceEnable): on (the default) echoes the
                                 request, off refuses it (405), extended also echoes a body up to 64 KiB
  --restrict-embedded            refuse routes running in the embedded group (WSGIRestrictEmbedded On)
`;
