// mod_auth_basic, mod_authn_core, mod_authn_file and mod_authz_groupfile: who a `Require valid-user`,
// `Require user` or `Require group` lets in (HTTP Basic authentication against an htpasswd file), and
// mod_wsgi's own provider, group script and host access script (WSGIAuthUserScript, WSGIAuthGroupScript,
// WSGIAccessScript).
import { existsSync } from "node:fs";
import { ConfigError, type Source } from "../diagnostics.ts";
import type { AuthScript, AuthSettings } from "../site.ts";
import { keyValueArgs, pathArg, SECTIONS, type DirectiveSpec, type Walk } from "./context.ts";

/** The providers wsgi-bin has: mod_authn_file's, and mod_wsgi's (WSGIAuthUserScript). */
const PROVIDERS = new Set(["file", "wsgi"]);

/** WSGIAuthUserScript, WSGIAuthGroupScript and WSGIAccessScript: FILE [application-group=NAME], %{GLOBAL} by default. */
function authScript(walk: Walk, name: string, args: string[], source: Source): AuthScript {
  const [file, ...rest] = args as [string, ...string[]];
  const options = keyValueArgs(name, rest, source, "WSGI auth script definition");
  for (const key of options.keys()) if (key !== "application-group") throw new ConfigError(source, `${name}: invalid option '${key}' (application-group=)`);
  const applicationGroup = options.get("application-group") ?? "%{GLOBAL}";
  if (applicationGroup === "") throw new ConfigError(source, `${name}: the group name is empty`);
  const script = pathArg(walk, file, source);
  if (!existsSync(script)) walk.diagnostics.warn(source, `${name}: the script '${script}' does not exist`);
  return { script, applicationGroup };
}

function edit(walk: Walk, change: AuthSettings): void {
  walk.settings.auth = { ...walk.settings.auth, ...change };
}

export const AUTH_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "AuthType", where: SECTIONS, args: [1, 1], usage: "Basic|None",
    apply(walk, args, source) {
      const type = args[0]!;
      const lower = type.toLowerCase();
      if (lower !== "basic" && lower !== "none") {
        walk.diagnostics.warn(source, `AuthType ${type} is not implemented by wsgi-bin (Basic and None are): a Require that needs a user answers 500 here`);
      }
      edit(walk, { type });
    },
  },
  {
    name: "AuthName", where: SECTIONS, args: [1, 1], usage: "REALM",
    apply(walk, args) {
      edit(walk, { name: args[0]! });
    },
  },
  {
    name: "AuthUserFile", where: SECTIONS, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      edit(walk, { userFile: pathArg(walk, args[0]!, source) });
    },
  },
  {
    name: "AuthGroupFile", where: SECTIONS, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      edit(walk, { groupFile: pathArg(walk, args[0]!, source) });
    },
  },
  {
    name: "AuthBasicProvider", where: SECTIONS, args: [1, Infinity], usage: "PROVIDER...",
    apply(walk, args, source) {
      const providers = args.map((name) => name.toLowerCase());
      const unknown = providers.filter((name) => !PROVIDERS.has(name));
      if (unknown.length) {
        if (unknown.length === providers.length) {
          walk.diagnostics.warn(source, `AuthBasicProvider ${args.join(" ")}: wsgi-bin has only the file and wsgi providers: a Require that needs a user answers 500 here`);
        } else {
          walk.diagnostics.warn(source, `AuthBasicProvider ${unknown.join(" ")}: not implemented by wsgi-bin: only the file and wsgi providers are asked`);
        }
      }
      if (providers.length === 0) throw new ConfigError(source, "AuthBasicProvider needs a provider");
      edit(walk, { providers });
    },
  },
  {
    name: "WSGIAuthUserScript", where: SECTIONS, args: [1, 2], usage: "FILE [application-group=NAME]",
    apply(walk, args, source) {
      edit(walk, { userScript: authScript(walk, "WSGIAuthUserScript", args, source) });
    },
  },
  {
    name: "WSGIAuthGroupScript", where: SECTIONS, args: [1, 2], usage: "FILE [application-group=NAME]",
    apply(walk, args, source) {
      edit(walk, { groupScript: authScript(walk, "WSGIAuthGroupScript", args, source) });
    },
  },
  {
    name: "WSGIAccessScript", where: SECTIONS, args: [1, 2], usage: "FILE [application-group=NAME]",
    apply(walk, args, source) {
      edit(walk, { accessScript: authScript(walk, "WSGIAccessScript", args, source) });
    },
  },
];
