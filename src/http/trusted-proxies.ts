// WSGITrustedProxies / WSGITrustedProxyHeaders: behind a reverse proxy, the client's address,
// scheme, host and port come from X-Forwarded-* headers, but only when the peer is a proxy we trust.
// From anyone else those headers are removed before the app sees them, so they cannot be forged.
import { BlockList, isIP } from "node:net";

/** The headers honoured from a trusted proxy (lower-case). */
const FORWARDED = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"]);

export interface Forwarded {
  remoteAddr: string;
  scheme: string;
  /** The Host the client asked for (replaces the Host header), or null to keep it. */
  host: string | null;
  port: string | null;
  /** The request headers, without X-Forwarded-* when the peer is not trusted. */
  headers: string[];
}

export class TrustedProxies {
  private readonly list = new BlockList();

  /** `specs`: addresses or CIDR blocks ("10.0.0.0/8", "127.0.0.1", "fd00::/8"). Throws on a bad one. */
  constructor(specs: string[]) {
    for (const spec of specs) {
      const [address = "", bits] = spec.split("/");
      const family = isIP(address);
      if (family === 0) throw new Error(`'${spec}' is not an IP address or CIDR block`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) this.list.addAddress(address, type);
      else {
        const prefix = Number(bits);
        if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`'${spec}' has a bad prefix length`);
        this.list.addSubnet(address, prefix, type);
      }
    }
  }

  trusts(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? "ipv4" : "ipv6");
  }

  /** What the request says about its client once the proxies in front are accounted for. */
  resolve(peer: string, scheme: string, headers: string[]): Forwarded {
    const result: Forwarded = { remoteAddr: peer, scheme, host: null, port: null, headers };
    if (!this.trusts(peer)) {
      result.headers = [];
      for (let i = 0; i < headers.length; i += 2) {
        if (!FORWARDED.has(headers[i]!.toLowerCase())) result.headers.push(headers[i]!, headers[i + 1]!);
      }
      return result;
    }
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      const value = headers[i + 1]!.trim();
      if (name === "x-forwarded-for") result.remoteAddr = this.client(value, peer);
      else if (name === "x-forwarded-proto") result.scheme = value.toLowerCase() === "https" ? "https" : "http";
      else if (name === "x-forwarded-host") result.host = value.split(",")[0]!.trim() || null;
      else if (name === "x-forwarded-port" && /^\d{1,5}$/.test(value)) result.port = value;
    }
    return result;
  }

  /** X-Forwarded-For from the right: the first address that is not one of our proxies is the client. */
  private client(value: string, peer: string): string {
    const hops = value.split(",").map((hop) => hop.trim()).filter((hop) => isIP(hop) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!this.trusts(hops[i]!)) return hops[i]!;
    }
    return hops[0] ?? peer;
  }
}
