// The connection limits Apache users know by name, with Apache 2.4's defaults.
export interface WireLimits {
  /** LimitRequestLine: bytes in the request line (414 beyond). */
  requestLine: number;
  /** LimitRequestFields: header fields in a request (400 beyond). */
  fields: number;
  /** LimitRequestFieldSize: bytes in one header field line (400 beyond). */
  fieldSize: number;
  /** The most a whole head may take while it arrives: what the three limits above allow. */
  headBytes: number;
  /** Timeout (ms): between body reads, and between response writes. */
  timeoutMs: number;
  /** RequestReadTimeout header= (ms): to receive a whole request head, from its first byte (or the connection's start). */
  headTimeoutMs: number;
  /** KeepAliveTimeout (ms): how long an idle persistent connection waits for its next request. */
  keepAliveTimeoutMs: number;
  /** MaxKeepAliveRequests: requests per connection (0: unlimited). */
  maxKeepAliveRequests: number;
  /** MaxRequestWorkers-like cap on open connections; beyond it new ones get 503 (0: unlimited). */
  maxConnections: number;
  /**
   * A daemon's socket, where every request comes from a front: the front checked its client's Host
   * (an HTTP/1.0 client's, which may have none, arrives as HTTP/1.1), and the client's Connection
   * header speaks of the client's connection, not the front's, which persists until the front closes it.
   */
  relayed?: boolean;
}

export const WIRE_DEFAULTS = {
  limitRequestLine: 8190,
  limitRequestFields: 100,
  limitRequestFieldSize: 8190,
  timeout: 60,
  requestReadTimeout: 20, // mod_reqtimeout's header=20, on in Debian's Apache
  keepAliveTimeout: 5,
  maxKeepAliveRequests: 100,
  maxConnections: 1024,
} as const;

/** The limits as configured (flags, directives, ServerConfig): one number each, named as WIRE_DEFAULTS. */
export type ConnectionLimits = { -readonly [K in keyof typeof WIRE_DEFAULTS]: number };

/** Each limit from the first of `sources` that sets it, else Apache's default. */
export function connectionLimits(...sources: Partial<ConnectionLimits>[]): ConnectionLimits {
  const limits = { ...WIRE_DEFAULTS } as ConnectionLimits;
  for (const key of Object.keys(WIRE_DEFAULTS) as (keyof ConnectionLimits)[]) {
    const given = sources.find((source) => source[key] !== undefined)?.[key];
    if (given !== undefined) limits[key] = given;
  }
  return limits;
}

export function wireLimits(config: ConnectionLimits): WireLimits {
  return {
    requestLine: config.limitRequestLine,
    fields: config.limitRequestFields,
    fieldSize: config.limitRequestFieldSize,
    headBytes: config.limitRequestLine + 2 + config.limitRequestFields * (config.limitRequestFieldSize + 2) + 2,
    timeoutMs: config.timeout * 1000,
    headTimeoutMs: config.requestReadTimeout * 1000,
    keepAliveTimeoutMs: config.keepAliveTimeout * 1000,
    maxKeepAliveRequests: config.maxKeepAliveRequests,
    maxConnections: config.maxConnections,
  };
}
