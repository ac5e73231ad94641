// mod_auth_basic, mod_authn_core, mod_authn_file and mod_authz_groupfile: who a `Require valid-user`,
// `Require user` or `Require group` lets in (HTTP Basic authentication against an htpasswd file).
import { ConfigError } from "../diagnostics.ts";
import type { AuthSettings } from "../site.ts";
import { pathArg, SECTIONS, type DirectiveSpec, type Walk } from "./context.ts";

/** The providers wsgi-bin has: mod_authn_file's. */
const PROVIDERS = new Set(["file"]);

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
          walk.diagnostics.warn(source, `AuthBasicProvider ${args.join(" ")}: wsgi-bin has only the file provider (AuthUserFile): a Require that needs a user answers 500 here`);
        } else {
          walk.diagnostics.warn(source, `AuthBasicProvider ${unknown.join(" ")}: not implemented by wsgi-bin: only the file provider is asked`);
        }
      }
      if (providers.length === 0) throw new ConfigError(source, "AuthBasicProvider needs a provider");
      edit(walk, { providers });
    },
  },
];
