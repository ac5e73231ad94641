// mod_authz_core and mod_authz_host: Require all granted|denied, Require ip, Require local. Several
// Require lines in one section grant access if any one does (httpd's implicit <RequireAny>).
import type { Access, RequireRule } from "../../config/site.ts";
import { inRanges, ipRanges, unmapped } from "../ip-ranges.ts";

/** Is a client (its address, and the address it reached us on) let in? */
export type AccessCheck = (peer: string, local: string) => boolean;

const everyone: AccessCheck = () => true;

/** Require local: the loopback addresses (and the server's own, compared per connection). */
const LOOPBACK = ["127.0.0.0/8", "::1"];

const compiled = new WeakMap<Access, AccessCheck | null>();

/**
 * The check for a section's Require lines; null when everyone is let in (no Require, or all granted).
 * Made once per Access (per-request settings pass the sections' own objects through).
 */
export function accessCheck(access: Access | undefined): AccessCheck | null {
  if (!access) return null;
  let check = compiled.get(access);
  if (check === undefined) compiled.set(access, (check = compileAccess(access)));
  return check;
}

function compileAccess(access: Access): AccessCheck | null {
  const checks = access.rules.map(ruleCheck);
  if (checks.includes(everyone)) return null;
  const granting = checks.filter((check): check is AccessCheck => check !== null);
  if (granting.length === 0) return () => false;
  if (granting.length === 1) return granting[0]!;
  return (peer, local) => granting.some((check) => check(peer, local));
}

/** null: grants no one. */
function ruleCheck(rule: RequireRule): AccessCheck | null {
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
      return null; // Require valid-user, host, env...: not evaluated here, so they grant no one
  }
}
