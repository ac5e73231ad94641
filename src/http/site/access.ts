// mod_authz_core, mod_authz_host, mod_authz_user and mod_authz_groupfile: Require all granted|denied,
// Require ip, Require local, Require valid-user, Require user, Require group. Several Require lines in
// one section grant access if any one does (httpd's implicit <RequireAny>); a user-based line is
// asked only when no address-based one grants, once the user is authenticated (basic-auth.ts).
import type { Access, AuthSettings, RequireRule } from "../../config/site.ts";
import { inRanges, ipRanges, unmapped } from "../ip-ranges.ts";

/** What the rules say before anyone is authenticated. */
export const enum Verdict {
  Granted,
  Denied,
  /** No address rule grants, but a user-based one could: authentication decides (httpd's AUTHZ_DENIED_NO_USER). */
  NeedsUser,
}

/** A section's Require lines (and the authentication settings where they are), compiled. */
export interface Gate {
  /** By the client's address (and the address it reached us on). */
  check(peer: string, local: string): Verdict;
  /** Does `Require valid-user` or a `Require user` naming them let this authenticated user in? */
  grantsUser(user: string): boolean;
  /** The groups `Require group` lets in (AuthGroupFile's), and `Require wsgi-group` (WSGIAuthGroupScript's). */
  readonly groups: readonly string[];
  readonly wsgiGroups: readonly string[];
  readonly auth: AuthSettings | undefined;
}

type AddressCheck = (peer: string, local: string) => boolean;

const everyone: AddressCheck = () => true;

/** Require local: the loopback addresses (and the server's own, compared per connection). */
const LOOPBACK = ["127.0.0.0/8", "::1"];

/** Compiled once per Require list and authentication settings (per-request settings pass the sections' own objects through). */
const compiled = new WeakMap<Access, WeakMap<AuthSettings, Gate | null>>();
const NO_AUTH: AuthSettings = {};

/** The gate for a section's Require lines; null when everyone is let in (no Require, or all granted). */
export function accessGate(access: Access | undefined, auth?: AuthSettings): Gate | null {
  if (!access) return null;
  let byAuth = compiled.get(access);
  if (!byAuth) compiled.set(access, (byAuth = new WeakMap()));
  const key = auth ?? NO_AUTH;
  let gate = byAuth.get(key);
  if (gate === undefined) byAuth.set(key, (gate = compileGate(access, auth)));
  return gate;
}

function compileGate(access: Access, auth: AuthSettings | undefined): Gate | null {
  const addressChecks = access.rules.map(addressCheck);
  if (addressChecks.includes(everyone)) return null;
  const granting = addressChecks.filter((check): check is AddressCheck => check !== null);
  const names = (kind: RequireRule["kind"]) => access.rules.flatMap((rule) => (rule.kind === kind && "names" in rule ? rule.names : []));
  const anyUser = access.rules.some((rule) => rule.kind === "valid-user");
  const users = new Set(names("user"));
  const groups = names("group");
  const wsgiGroups = names("wsgi-group");
  const otherwise = anyUser || users.size || groups.length || wsgiGroups.length ? Verdict.NeedsUser : Verdict.Denied;
  return {
    auth,
    groups,
    wsgiGroups,
    check(peer, local) {
      for (const check of granting) if (check(peer, local)) return Verdict.Granted;
      return otherwise;
    },
    grantsUser: (user) => anyUser || users.has(user),
  };
}

/** An address-based rule's check; null for one that grants no one by address (all denied, user-based, unsupported). */
function addressCheck(rule: RequireRule): AddressCheck | null {
  switch (rule.kind) {
    case "all":
      return rule.granted ? everyone : null;
    case "ip": {
      const list = ipRanges(rule.ranges);
      return (peer) => inRanges(list, peer);
    }
    case "local": {
      const list = ipRanges(LOOPBACK);
      return (peer, local) => inRanges(list, peer) || unmapped(peer) === unmapped(local);
    }
    default:
      return null; // valid-user, user, group, wsgi-group: asked once a user is authenticated; host, env...: not evaluated here
  }
}
