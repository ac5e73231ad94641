// Name-based virtual hosts on one listener: the first host whose ServerName or ServerAlias matches the
// request's Host takes it; a Host no host names (or none) goes to the first, the port's default.
import { hostName } from "../host-header.ts";
import type { HostRuntime } from "./host-runtime.ts";

const CACHE_LIMIT = 256;

export class HostTable {
  private readonly cache = new Map<string, HostRuntime>();

  constructor(readonly hosts: HostRuntime[]) {}

  /** `host`: the Host header (or an absolute-form target's authority), with or without its port. */
  select(host: string | null): HostRuntime {
    const hosts = this.hosts;
    if (hosts.length === 1 || !host) return hosts[0]!;
    const cached = this.cache.get(host);
    if (cached) return cached;
    const name = hostName(host);
    const chosen = hosts.find((candidate) => candidate.named(name)) ?? hosts[0]!;
    // Bounded: Host is the client's to choose.
    if (this.cache.size < CACHE_LIMIT) this.cache.set(host, chosen);
    return chosen;
  }
}

