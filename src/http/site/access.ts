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
  /** Does a user-based line let this authenticated user in? `groups` is read only if a group line asks. */
  admitsUser(user: string, groups: () => string[] | Error): boolean | Error;
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
  const userRules = access.rules.filter((rule) => rule.kind === "valid-user" || rule.kind === "user" || rule.kind === "group");
  const anyUser = userRules.some((rule) => rule.kind === "valid-user");
  const users = new Set(userRules.flatMap((rule) => (rule.kind === "user" ? rule.names : [])));
  const groups = userRules.flatMap((rule) => (rule.kind === "group" ? rule.names : []));
  const otherwise = userRules.length ? Verdict.NeedsUser : Verdict.Denied;
  return {
    auth,
    check(peer, local) {
      for (const check of granting) if (check(peer, local)) return Verdict.Granted;
      return otherwise;
    },
    admitsUser(user, groupsOf) {
      if (anyUser || users.has(user)) return true;
      if (groups.length === 0) return false;
      const member = groupsOf();
      return member instanceof Error ? member : groups.some((group) => member.includes(group));
    },
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
      return null; // valid-user, user, group: asked once a user is authenticated; host, env...: not evaluated here
  }
}
