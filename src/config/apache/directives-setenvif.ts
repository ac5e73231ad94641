// mod_setenvif: SetEnvIf, SetEnvIfNoCase, BrowserMatch and BrowserMatchNoCase set environ variables
// from the request (the recipe behind a TLS-terminating proxy: SetEnvIf X-Forwarded-Proto https HTTPS=on).
import { ConfigError, type Source } from "../diagnostics.ts";
import type { EnvCondition } from "../site.ts";
import { ANYWHERE, regexArg, type DirectiveSpec, type Walk } from "./context.ts";

/** An attribute holding anything but these is a regular expression over header names (as httpd's is_header_regex). */
const PLAIN_ATTRIBUTE = /^[-A-Za-z0-9_]*$/;

function assignments(name: string, args: string[], source: Source): EnvCondition["assignments"] {
  return args.map((arg) => {
    if (arg.startsWith("!")) {
      if (arg.length === 1) throw new ConfigError(source, `${name}: '!' needs a variable name after it`);
      return { name: arg.slice(1), value: null };
    }
    const eq = arg.indexOf("=");
    if (eq === 0) throw new ConfigError(source, `${name}: '${arg}' has no variable name before '='`);
    return eq < 0 ? { name: arg, value: "1" } : { name: arg.slice(0, eq), value: arg.slice(eq + 1) };
  });
}

function condition(walk: Walk, name: string, attribute: string, args: string[], noCase: boolean, source: Source): void {
  const [pattern, ...rest] = args as [string, ...string[]];
  const flags = noCase ? "i" : "";
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    throw new ConfigError(source, `${name}: invalid regular expression '${pattern}': ${(error as Error).message}`);
  }
  if (!PLAIN_ATTRIBUTE.test(attribute)) regexArg(name, attribute, source);
  const inSection = walk.where !== "server" && walk.where !== "vhost";
  (walk.settings.setEnvIf ??= []).push({ attribute, pattern, noCase, inSection, assignments: assignments(name, rest, source), source });
}

export const SETENVIF_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "SetEnvIf", where: ANYWHERE, args: [3, Infinity], usage: "ATTRIBUTE REGEX [!]VARIABLE[=VALUE] ...",
    apply: (walk, args, source) => condition(walk, "SetEnvIf", args[0]!, args.slice(1), false, source),
  },
  {
    name: "SetEnvIfNoCase", where: ANYWHERE, args: [3, Infinity], usage: "ATTRIBUTE REGEX [!]VARIABLE[=VALUE] ...",
    apply: (walk, args, source) => condition(walk, "SetEnvIfNoCase", args[0]!, args.slice(1), true, source),
  },
  {
    name: "BrowserMatch", where: ANYWHERE, args: [2, Infinity], usage: "REGEX [!]VARIABLE[=VALUE] ...",
    apply: (walk, args, source) => condition(walk, "BrowserMatch", "User-Agent", args, false, source),
  },
  {
    name: "BrowserMatchNoCase", where: ANYWHERE, args: [2, Infinity], usage: "REGEX [!]VARIABLE[=VALUE] ...",
    apply: (walk, args, source) => condition(walk, "BrowserMatchNoCase", "User-Agent", args, true, source),
  },
];
