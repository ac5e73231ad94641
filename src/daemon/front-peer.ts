// A daemon process's side of FRONT_HEADER: which listener the request came in on and the client as the
// front saw it, so the daemon routes and builds environ as the embedded path would. The header (and an
// `Expect: 100-continue` the front added on its own) never reaches the app.
import type { Peer } from "../http/app.ts";
import type { ResponseFacts } from "../log/log-record.ts";
import type { Connection } from "../http/wire/connection.ts";
import type { ParsedHead } from "../http/wire/head-parser.ts";
import { fromRelay, type ErrorRedirect } from "../http/error-redirect.ts";
import { FRONT_EXPECT, FRONT_HEADER_LOWER, FRONT_HTTP10, FRONT_REDIRECT, FRONT_SNI, FRONT_USER } from "./protocol.ts";

/** The client of a relayed request, over the front's connection to this daemon. */
export class FrontPeer implements Peer {
  constructor(
    readonly connection: Connection,
    readonly peerAddress: string,
    readonly peerPort: number,
    readonly localAddress: string,
    /** The user the front authenticated (REMOTE_USER), if any. */
    readonly relayedUser: string | null = null,
    /** The name the client sent the front in its TLS handshake (SSL_TLS_SNI), if any. */
    readonly relayedServerName: string | null = null,
    /** The request is an ErrorDocument's script's for an error the front met (http/error-redirect.ts). */
    readonly relayedRedirect: ErrorRedirect | null = null,
  ) {}

  cut(): void {
    this.connection.cut();
  }

  finished(status: number, bytes: number, keepAlive: boolean, response?: ResponseFacts): void {
    this.connection.finished(status, bytes, keepAlive, response);
  }
}

export interface Relayed {
  /** The index of the listener (in ServerConfig.listeners) the client reached. */
  listener: number;
  peer: FrontPeer;
  /** The request head without FRONT_HEADER (and without the front's own Expect). */
  head: ParsedHead;
}

/** Reads FRONT_HEADER; null when it is missing or malformed (a request that did not come through a front). */
export function fromFront(connection: Connection, head: ParsedHead): Relayed | null {
  // One pass: the header found and dropped, an Expect noted (dropped below if the front added it; a
  // client's own Expect was answered by the front, which relays none then: see proxy.ts).
  const headers = head.headers;
  let value: string | null = null;
  let expectAt = -1;
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === FRONT_HEADER_LOWER.length && name.toLowerCase() === FRONT_HEADER_LOWER) {
      value = headers[i + 1]!;
      continue;
    }
    if (name.length === 6 && name.toLowerCase() === "expect") expectAt = kept.length;
    kept.push(name, headers[i + 1]!);
  }
  if (value === null) return null;
  const [remoteAddr = "", remotePort = "", listener = "", localAddress = "", ...flags] = value.split(" ");
  if (!/^\d+$/.test(listener) || !/^\d+$/.test(remotePort)) return null;
  const expectAdded = flags.includes(FRONT_EXPECT);
  if (expectAdded && expectAt >= 0) kept.splice(expectAt, 2);
  let user: string | null = null;
  let serverName: string | null = null;
  let redirect: string | null = null;
  try {
    user = flagValue(flags, FRONT_USER);
    serverName = flagValue(flags, FRONT_SNI);
    redirect = flagValue(flags, FRONT_REDIRECT);
  } catch {
    return null; // not what a front writes
  }
  const protocol = flags.includes(FRONT_HTTP10) ? "HTTP/1.0" : head.protocol;
  const relayedHead = { ...head, protocol, headers: kept, expectContinue: expectAdded ? false : head.expectContinue } as const;
  const redirected = redirect === null ? null : fromRelay(redirect, relayedHead);
  if (redirect !== null && !redirected) return null;
  const peer = new FrontPeer(connection, remoteAddr, Number(remotePort), localAddress === "-" ? "" : localAddress, user, serverName, redirected);
  return { listener: Number(listener), peer, head: relayedHead };
}

/** A flag's URI-encoded value (FRONT_USER, FRONT_SNI, FRONT_REDIRECT), or null where the front wrote none. */
function flagValue(flags: string[], prefix: string): string | null {
  const flag = flags.find((candidate) => candidate.startsWith(prefix));
  return flag ? decodeURIComponent(flag.slice(prefix.length)) : null;
}
