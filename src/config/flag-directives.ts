// Flags that stand for directives are applied as those directives: the same parsing, checks and
// site-model objects as a configuration file's lines (src/config/apache/), at the place each belongs:
// the server, the command line's host, or a <Location> of it. Errors and warnings name the flag.
import type { SiteDraft, Walk, Where } from "./apache/context.ts";
import { applyDirective, emptyDraft } from "./apache/to-site.ts";
import { ConfigError, Diagnostics, flagSource } from "./diagnostics.ts";
import { emptySettings, emptyVhost, type Section, type VirtualHost } from "./site.ts";
import { DEFAULTS } from "../config.ts";
import { DEFAULT_TRUSTED_HEADERS } from "../http/trusted-proxies.ts";

/** One directive a flag stands for. */
export interface DirectiveLine {
  /** The flag as given ("--redirect"): errors and warnings say where they come from with it. */
  flag: string;
  name: string;
  args: string[];
  /** The main server (server-wide directives), the host, or the host's <Location PATH>. */
  place: "server" | "host" | { location: string };
}

/** Applies lines to `host` (the main server or a virtual host of `draft`), in order. Throws ConfigError as a file would. */
export function applyDirectiveLines(draft: SiteDraft, host: VirtualHost, lines: DirectiveLine[], diagnostics: Diagnostics): void {
  const where: Where = host === draft.main ? "server" : "vhost";
  const base = () => process.cwd(); // the flags' paths are made absolute when they are read (src/cli/)
  for (const line of lines) {
    const source = flagSource(line.flag);
    let walk: Walk;
    if (line.place === "server") walk = { draft, where: "server", vhost: draft.main, settings: draft.main.settings, diagnostics, base };
    else if (line.place === "host") walk = { draft, where, vhost: host, settings: host.settings, diagnostics, base };
    else {
      const section = locationSection(host, line.place.location, line.flag);
      walk = { draft, where: "location", vhost: host, section, settings: section.settings, diagnostics, base };
    }
    applyDirective(walk, line.name, line.args, source);
  }
}

/** The flags' own <Location PATH> of a host: made when first needed, after the host's other sections. */
function locationSection(host: VirtualHost, path: string, flag: string): Section {
  const existing = host.sections.find((s) => s.kind === "location" && !s.regex && s.pattern === path && s.source?.line === 0);
  if (existing) return existing;
  const section: Section = { kind: "location", pattern: path, regex: false, settings: emptySettings(), source: flagSource(flag) };
  host.sections.push(section);
  return section;
}

/** The first problem of lines given on the command line, as their directives word it (with the flag); null: none. */
export function lineProblem(lines: DirectiveLine[]): string | null {
  const draft = emptyDraft();
  // ServerAlias belongs in a virtual host: so does the command line's host when it has aliases.
  const host = lines.some((line) => line.name === "ServerAlias") ? emptyVhost() : draft.main;
  try {
    applyDirectiveLines(draft, host, lines, new Diagnostics());
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

/** --server-status PATH, --server-status-allow: mod_status's <Location PATH> with SetHandler server-status and Require ip. */
export function statusLines(path: string, allow: string[]): DirectiveLine[] {
  const place = { location: path };
  return [
    { flag: "--server-status", name: "SetHandler", args: ["server-status"], place },
    { flag: allow.length ? "--server-status-allow" : "--server-status", name: "Require", args: ["ip", ...(allow.length ? allow : DEFAULTS.statusAllow)], place },
  ];
}

/** --trust-proxy, --trust-proxy-header: WSGITrustedProxies and WSGITrustedProxyHeaders for the host. */
export function trustLines(proxies: string[], headers: string[]): DirectiveLine[] {
  const lines: DirectiveLine[] = [];
  if (proxies.length) lines.push({ flag: "--trust-proxy", name: "WSGITrustedProxies", args: proxies, place: "host" });
  if (proxies.length || headers.length) {
    lines.push({ flag: "--trust-proxy-header", name: "WSGITrustedProxyHeaders", args: headers.length ? headers : DEFAULT_TRUSTED_HEADERS, place: "host" });
  }
  return lines;
}
