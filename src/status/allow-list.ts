// --server-status-allow: which client addresses may see the status page (mod_status behind
// `Require ip ...`). IPv4 clients of a dual-stack listener arrive as ::ffff:a.b.c.d: matched as IPv4.
import { BlockList, isIP } from "node:net";

export const DEFAULT_STATUS_ALLOW = ["127.0.0.0/8", "::1"];

export class AllowList {
  private readonly list = new BlockList();

  /** `specs`: addresses or CIDR blocks; throws on a bad one. */
  constructor(readonly specs: string[]) {
    for (const spec of specs) {
      const [address = "", bits, extra] = spec.split("/");
      const family = isIP(address);
      if (family === 0 || extra !== undefined) throw new Error(`'${spec}' is not an IP address or CIDR block (ADDR or ADDR/BITS)`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) this.list.addAddress(address, type);
      else {
        if (!/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) throw new Error(`'${spec}' has a bad prefix length`);
        this.list.addSubnet(address, Number(bits), type);
      }
    }
  }

  allows(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? "ipv4" : "ipv6");
  }
}
