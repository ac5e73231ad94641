// mod_authz_core and mod_authz_host: Require all granted|denied, Require ip, Require local. Several
// Require lines in one section grant access if any one does (httpd's implicit <RequireAny>).
import { BlockList, isIP } from "node:net";
import type { Access, RequireRule } from "../../config/site.ts";

/** Is a client (its address, and the address it reached us on) let in? */
export type AccessCheck = (peer: string, local: string) => boolean;

const everyone: AccessCheck = () => true;

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
      const list = new BlockList();
      for (const range of rule.ranges) addRange(list, range);
      return (peer) => contains(list, peer);
    }
    case "local": {
      const list = new BlockList();
      list.addSubnet("127.0.0.0", 8, "ipv4");
      list.addAddress("::1", "ipv6");
      return (peer, local) => contains(list, peer) || unmapped(peer) === unmapped(local);
    }
    default:
      return null; // Require valid-user, host, env...: not evaluated here, so they grant no one
  }
}

/** `10.1.2.3`, `10.1` (a partial address: its leading bytes), `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`. Throws on a bad one. */
export function addRange(list: BlockList, range: string): void {
  const [address = "", mask] = range.split("/");
  if (isIP(address) === 6) {
    if (mask === undefined) list.addAddress(address, "ipv6");
    else list.addSubnet(address, Number(mask), "ipv6");
    return;
  }
  const bytes = address.split(".").filter((part) => part !== "");
  if (mask === undefined) {
    if (bytes.length === 4) list.addAddress(address, "ipv4");
    else list.addSubnet([...bytes, "0", "0", "0"].slice(0, 4).join("."), bytes.length * 8, "ipv4");
  } else if (mask.includes(".")) {
    const bits = mask.split(".").reduce((n, part) => n + (Number(part) >>> 0).toString(2).replace(/0/g, "").length, 0);
    list.addSubnet(address, bits, "ipv4");
  } else {
    list.addSubnet(address, Number(mask), "ipv4");
  }
}

/** `::ffff:10.1.2.3` (an IPv4 client on a dual-stack socket) is 10.1.2.3. */
function unmapped(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function contains(list: BlockList, address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? "ipv4" : "ipv6");
}
