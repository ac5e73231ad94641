// One answered request as a compiled access log format reads it (log/log-record.ts): made only for
// hosts whose CustomLogs need more than the combined writer's fields; what few formats ask for (the
// path, the variables, the file) is worked out when first read.
import { statSync } from "node:fs";
import type { LogRecord, ResponseFacts } from "../log/log-record.ts";
import type { Peer } from "./app.ts";
import { hostName, hostPort } from "./host-header.ts";
import { parseTarget, targetAuthority, type Target } from "./request-target.ts";
import { nowMicros } from "./site/header-format.ts";
import type { EnvRequest } from "./site/env-conditions.ts";
import type { HostRuntime } from "./site/host-runtime.ts";
import type { ParsedHead } from "./wire/head-parser.ts";

/** What the connection knows of its requests (a wire Connection does; another front's peer may not). */
interface ConnectionFacts {
  readonly keepAlives?: number;
  readonly requestBytes?: number;
  readonly aborted?: boolean;
}

const NO_ENV: readonly string[] = [];
let requestIds = 0;

/** A file path cut where Apache's directory walk stops: the first component missing, or a file with more after it. */
function walked(file: string): string {
  for (let end = file.indexOf("/", 1); end > 0; end = file.indexOf("/", end + 1)) {
    const prefix = file.slice(0, end);
    try {
      if (!statSync(prefix).isDirectory()) return prefix;
    } catch {
      return prefix;
    }
  }
  return file;
}

export class AccessRecord implements LogRecord {
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly localAddr: string;
  readonly localPort: number;
  readonly headBytes: number;
  readonly requestBytes: number;
  readonly keepAlives: number;
  readonly connectionStatus: "X" | "+" | "-";
  readonly started: number;
  readonly ended = nowMicros();
  readonly responseFields: readonly string[] | null;
  readonly handler: string | null;
  private parsed: Target | null | undefined = undefined;
  private variables: readonly string[] | null = null;
  private id: string | null = null;

  constructor(
    private readonly host: HostRuntime,
    private readonly peer: Peer & ConnectionFacts,
    readonly head: ParsedHead | null,
    readonly requestLine: string,
    readonly status: number,
    readonly bytes: number,
    private readonly response: ResponseFacts | undefined,
    keepAlive: boolean,
    readonly user: string | null | undefined,
    private readonly scheme: "http" | "https",
  ) {
    this.remoteAddr = peer.peerAddress;
    this.remotePort = peer.peerPort;
    const local = peer.localAddress ?? "";
    // An IPv4 address as an IPv6 socket shows it ("::ffff:127.0.0.1") is written as IPv4, as SERVER_ADDR is.
    this.localAddr = local.startsWith("::ffff:") && local.includes(".") ? local.slice(7) : local;
    this.localPort = host.port;
    this.headBytes = response?.headBytes ?? 0;
    this.requestBytes = peer.requestBytes ?? 0;
    this.keepAlives = peer.keepAlives ?? 0;
    this.connectionStatus = peer.aborted ? "X" : keepAlive ? "+" : "-";
    this.started = response?.started ?? this.ended;
    this.responseFields = response?.fields ?? null;
    this.handler = response?.handler ?? null;
  }

  /** The request target, parsed once; null without a head, or one that does not parse. */
  private get target(): Target | null {
    if (this.parsed === undefined) {
      const target = this.head ? parseTarget(this.head.target) : null;
      this.parsed = target === null || typeof target === "number" ? null : target;
    }
    return this.parsed;
  }

  get path(): string | null {
    return this.target?.path ?? null;
  }

  get query(): string | null {
    return this.target?.query || null;
  }

  get serverName(): string {
    return this.host.serverName;
  }

  /** UseCanonicalName Off: the name the request gave (an absolute-form target's, else Host's). */
  get requestServerName(): string {
    const given = this.head ? targetAuthority(this.head.target) ?? this.head.host : null;
    return given ? hostName(given) : this.host.serverName;
  }

  /** The port of the host's ServerName when it names one, else the scheme's (Apache's r->server->port, else ap_default_port). */
  get canonicalPort(): string {
    const named = this.host.vhost.serverName;
    return (named ? hostPort(named) : null) ?? (this.scheme === "https" ? "443" : "80");
  }

  /**
   * The script a WSGI route ran, the file sent, else the path's mapping as Apache's directory walk
   * leaves r->filename: up to the first component that is not there or is a file (the rest is PATH_INFO).
   */
  get filename(): string | null {
    if (this.response?.handler) return this.response.label;
    const path = this.path;
    if (path === null) return null;
    const match = this.host.match(path);
    if (match?.kind === "file") return match.file;
    const mapped = this.host.translatePath(path);
    return mapped ? walked(mapped) : null;
  }

  /** %L: an id of the request, made when first read, as Apache's core makes one (11 characters of base64). */
  get logId(): string {
    if (this.id === null) {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32LE((this.started % 0x1_0000_0000) >>> 0, 0);
      bytes.writeUInt32LE(((process.pid << 16) ^ ++requestIds) >>> 0, 4);
      this.id = bytes.toString("base64").slice(0, 11);
    }
    return this.id;
  }

  env(): readonly string[] {
    if (this.variables === null) {
      const target = this.target;
      this.variables = this.head && target ? this.host.requestEnv(envRequest(this.peer, this.head, target)) : NO_ENV;
    }
    return this.variables;
  }
}

/** What SetEnvIf's conditions read from this request (env-conditions.ts). */
export function envRequest(peer: Peer, head: ParsedHead, target: Target): EnvRequest {
  const queryStart = target.raw.indexOf("?");
  return {
    method: head.method,
    protocol: head.protocol,
    rawPath: queryStart < 0 ? target.raw : target.raw.slice(0, queryStart),
    path: target.path,
    remoteAddr: peer.peerAddress,
    serverAddr: peer.localAddress ?? "",
    headers: head.headers,
  };
}
