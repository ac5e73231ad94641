// Address ranges as Apache's configuration writes them (mod_authz_host's `Require ip`, mod_wsgi's
// WSGITrustedProxies, both through apr_ipsubnet_create): a whole address, a partial IPv4 address
// (`10.1`: its leading bytes), ADDR/BITS, or an IPv4 ADDR/NETMASK. One reader for all of them.
import { BlockList, isIP } from "node:net";

const IP_RANGE = /^(\d{1,3}(\.\d{1,3}){0,3}(\/(\d{1,2}|\d{1,3}(\.\d{1,3}){3}))?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/\d{1,3})?)$/;

/** The ranges as one list; throws an Error naming the first one that is not a range. */
export function ipRanges(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    let valid = IP_RANGE.test(range);
    try {
      if (valid) addRange(list, range);
    } catch {
      valid = false;
    }
    if (!valid) throw new Error(`'${range}' is not an IP address, partial address, or network/mask`);
  }
  return list;
}

function addRange(list: BlockList, range: string): void {
  const [address = "", mask] = range.split("/");
  if (isIP(address) === 6) {
    if (mask === undefined) list.addAddress(address, "ipv6");
    else list.addSubnet(address, Number(mask), "ipv6");
    return;
  }
  const bytes = address.split(".").filter((part) => part !== "");
  // As apr_ipsubnet_create: a partial address stands alone; with a mask, the address is whole.
  if (mask !== undefined && isIP(address) !== 4) throw new Error("a network/mask needs a whole address");
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
export function unmapped(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Is `address` (a client's, maybe IPv4-mapped) in the list? Not an address at all: no. */
export function inRanges(list: BlockList, address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? "ipv4" : "ipv6");
}
