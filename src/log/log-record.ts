// What a compiled access log format (log-format.ts) reads of one answered request: made by app.ts
// (http/access-record.ts) only for hosts whose logs need more than Combined Log Format's few fields.
import type { ParsedHead } from "../http/wire/head-parser.ts";

export interface LogRecord {
  /** %a %h: the client's address (HostnameLookups Off, no mod_remoteip). */
  readonly remoteAddr: string;
  /** %{remote}p */
  readonly remotePort: number;
  /** %A: the address the request arrived at ("" in process). */
  readonly localAddr: string;
  /** %{local}p: the port it arrived at. */
  readonly localPort: number;
  /** Null for a request refused before its head was read. */
  readonly head: ParsedHead | null;
  /** %r as received ("-" without a head). */
  readonly requestLine: string;
  /** The final status (%>s). */
  readonly status: number;
  /** %B: body bytes sent. */
  readonly bytes: number;
  /** The response head's bytes (status line and header fields): %O is these and the body's. */
  readonly headBytes: number;
  /** %I: the request's bytes received, head and body. */
  readonly requestBytes: number;
  /** %k: the requests this connection served before this one. */
  readonly keepAlives: number;
  /** %X: X aborted before the response completed, + kept alive, - closed. */
  readonly connectionStatus: "X" | "+" | "-";
  /** When the request was received and when it was logged, µs since the epoch. */
  readonly started: number;
  readonly ended: number;
  /** %u: the user authentication named; null or undefined: none. */
  readonly user: string | null | undefined;
  /** The response's status and header fields as written: status, name, value...; null when unknown. */
  readonly responseFields: readonly string[] | null;
  /** %R: the handler that answered (wsgi-script), null for the server's own. */
  readonly handler: string | null;
  /** %f: the file the request mapped to. */
  readonly filename: string | null;
  /** %L: an id for the request. */
  readonly logId: string;
  /** %v: the host's ServerName. */
  readonly serverName: string;
  /** %V: the name the request gave (Host), else serverName. */
  readonly requestServerName: string;
  /** %p: the host's canonical port. */
  readonly canonicalPort: string;
  /** %U: the path, decoded; null without a target. */
  readonly path: string | null;
  /** %q: the query string as received, null without one. */
  readonly query: string | null;
  /** %{VAR}e: SetEnv's and SetEnvIf's variables for the request, name, value... */
  env(): readonly string[];
}

/** What the response writer knows of a response once it is written (wire/response-writer.ts's WireResponse). */
export interface ResponseFacts {
  /** When the request was received, µs since the epoch. */
  readonly started: number;
  /** The status line's and header fields' bytes. */
  readonly headBytes: number;
  /** status, name, value... as written; null when none were. */
  readonly fields: readonly string[] | null;
  /** %R: wsgi-script for a WSGI route's answer, else null. */
  readonly handler: string | null;
  /** The file or script answering, if one did (%f). */
  readonly label: string | null;
}
