// WSGITrustedProxies / WSGITrustedProxyHeaders, as mod_wsgi applies them (wsgi_process_proxy_headers):
// behind a reverse proxy, the client's address, the scheme, the host, the port, the server's name and
// the mount point come from headers the proxy sets, but only the headers named trusted, and only
// from a trusted proxy (with no WSGITrustedProxies, from any client, as in mod_wsgi). The other
// headers of each purpose named are removed, and from anyone else all of them, so none can be forged.
import type { BlockList } from "node:net";
import { inRanges, ipRanges } from "./ip-ranges.ts";

type Purpose = "client" | "scheme" | "host" | "port" | "server" | "script";

/** Every header mod_wsgi takes from a proxy, with what it tells. */
const PURPOSES = new Map<string, Purpose>([
  ["x-forwarded-for", "client"], ["x-client-ip", "client"], ["x-real-ip", "client"],
  ["x-forwarded-proto", "scheme"], ["x-forwarded-scheme", "scheme"], ["x-scheme", "scheme"],
  ["x-forwarded-https", "scheme"], ["x-forwarded-ssl", "scheme"], ["x-https", "scheme"],
  ["x-forwarded-host", "host"], ["x-host", "host"],
  ["x-forwarded-port", "port"],
  ["x-forwarded-server", "server"],
  ["x-script-name", "script"], ["x-forwarded-script-name", "script"],
]);

/** --trust-proxy without --trust-proxy-header: what proxies set most. */
export const DEFAULT_TRUSTED_HEADERS = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port"];

/** Is this a header WSGITrustedProxyHeaders can name? */
export function isProxyHeader(name: string): boolean {
  return PURPOSES.has(name.toLowerCase());
}

export const PROXY_HEADER_NAMES = [...PURPOSES.keys()].map((name) => name.replace(/(^|-)([a-z])/g, (_, dash, c: string) => dash + c.toUpperCase()));

export interface Forwarded {
  remoteAddr: string;
  scheme: string;
  /** The Host the client asked for (replaces the Host header), or null to keep it. */
  host: string | null;
  port: string | null;
  /** SERVER_NAME (X-Forwarded-Server), or null to keep it. */
  serverName: string | null;
  /** SCRIPT_NAME (X-Script-Name), or null to keep it. */
  scriptName: string | null;
  /** The request headers, without those removed. */
  headers: string[];
}

export class TrustedProxies {
  /** null: no WSGITrustedProxies, every client is believed (mod_wsgi's rule). */
  private readonly proxies: BlockList | null;
  /** The trusted header of each purpose named (lower-case); the last named wins. */
  private readonly chosen = new Map<Purpose, string>();

  /** `proxies`: ranges as Require ip takes them (throws on a bad one); `headers`: the trusted ones (others are ignored). */
  constructor(proxies: string[] | undefined, headers: string[] = DEFAULT_TRUSTED_HEADERS) {
    this.proxies = proxies === undefined ? null : ipRanges(proxies);
    for (const header of headers) {
      const name = header.toLowerCase();
      const purpose = PURPOSES.get(name);
      if (purpose) this.chosen.set(purpose, name);
    }
  }

  trusts(address: string): boolean {
    return this.proxies === null || inRanges(this.proxies, address);
  }

  /** What the request says about its client once the proxies in front are accounted for. */
  resolve(peer: string, scheme: string, headers: string[]): Forwarded {
    const result: Forwarded = { remoteAddr: peer, scheme, host: null, port: null, serverName: null, scriptName: null, headers };
    const trusted = this.trusts(peer);
    // The request's own array unless a header is removed: copied up to the first one that is.
    let kept: string[] | null = null;
    for (let i = 0; i < headers.length; i += 2) {
      const raw = headers[i]!;
      // Every proxy header starts with X-: the others are passed without lower-casing them.
      const name = (raw.charCodeAt(0) | 0x20) === 0x78 ? raw.toLowerCase() : "";
      const purpose = name ? PURPOSES.get(name) : undefined;
      // Of a purpose named, only its trusted header, and only from a trusted proxy, reaches the app.
      // (mod_wsgi leaves X-Forwarded-Port and -Server of untrusted clients in; they are removed here too.)
      if (purpose !== undefined && this.chosen.has(purpose) && (!trusted || this.chosen.get(purpose) !== name)) {
        kept ??= headers.slice(0, i);
        continue;
      }
      kept?.push(raw, headers[i + 1]!);
      if (purpose !== undefined && this.chosen.has(purpose)) this.apply(result, purpose, name, headers[i + 1]!.trim(), peer);
    }
    if (kept) result.headers = kept;
    return result;
  }

  private apply(result: Forwarded, purpose: Purpose, name: string, value: string, peer: string): void {
    switch (purpose) {
      case "client":
        if (name === "x-forwarded-for") result.remoteAddr = this.client(value, peer);
        else if (value) result.remoteAddr = value;
        break;
      case "scheme": {
        const lower = value.toLowerCase();
        // X-Forwarded-Proto, -Scheme and X-Scheme say http or https; the others are On/Off flags.
        const https = name.endsWith("scheme") || name.endsWith("proto") ? lower === "https" : ["on", "true", "1"].includes(lower);
        const http = name.endsWith("scheme") || name.endsWith("proto") ? lower === "http" : ["off", "false", "0"].includes(lower);
        if (https) result.scheme = "https";
        else if (http) result.scheme = "http";
        break;
      }
      case "host":
        result.host = value.split(",")[0]!.trim() || null;
        break;
      case "port":
        if (/^\d{1,5}$/.test(value)) result.port = value;
        break;
      case "server":
        if (value) result.serverName = value;
        break;
      case "script":
        result.scriptName = value;
        break;
    }
  }

  /**
   * X-Forwarded-For: with WSGITrustedProxies, from the right, the first address that is not one of
   * our proxies is the client; without, the first address (mod_wsgi's wsgi_process_forwarded_for).
   */
  private client(value: string, peer: string): string {
    const hops = value.split(",").map((hop) => hop.trim()).filter((hop) => hop !== "");
    if (this.proxies === null) return hops[0] ?? peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!inRanges(this.proxies, hops[i]!)) return hops[i]!;
    }
    return hops[0] ?? peer;
  }
}

const cache = new WeakMap<string[], Map<string[] | undefined, TrustedProxies>>();

/**
 * The checker for a request's WSGITrustedProxies and WSGITrustedProxyHeaders (per-directory settings,
 * merged per request for some routes: made once per pair of lists); null when no header is trusted.
 */
export function trustedProxiesFor(proxies: string[] | undefined, headers: string[] | undefined): TrustedProxies | null {
  if (!headers?.length) return null;
  let byProxies = cache.get(headers);
  if (!byProxies) cache.set(headers, (byProxies = new Map()));
  let checker = byProxies.get(proxies);
  if (!checker) byProxies.set(proxies, (checker = new TrustedProxies(proxies, headers)));
  return checker;
}
