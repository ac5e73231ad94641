// What the processes of a server with daemon process groups tell each other. Front processes (the
// ones on the HTTP port) forward a daemon group's requests as HTTP/1.1 over the private unix socket of
// one of the group's processes; the supervisor tells the fronts which sockets are live.

/** A daemon process's environment: which group it runs, and the unix socket it listens on. */
export const DAEMON_GROUP_ENV = "WSGI_BIN_DAEMON_GROUP";
export const DAEMON_SOCKET_ENV = "WSGI_BIN_DAEMON_SOCKET";

/**
 * The request header the front adds, "ADDR PORT LISTENER LOCAL-ADDR[ FLAG...]": the client's address and
 * port, the index of the listener it reached (its virtual hosts, scheme and port), the address it
 * reached ("-" if unknown), then FRONT_EXPECT if the front added `Expect: 100-continue` itself and
 * FRONT_HTTP10 if the client spoke HTTP/1.0 (the front always speaks HTTP/1.1 to a daemon), and
 * FRONT_USER followed by the URI-encoded user the front authenticated (REMOTE_USER), and FRONT_SNI
 * followed by the URI-encoded name a TLS client sent in its handshake (SSL_TLS_SNI), and FRONT_REDIRECT
 * followed by the URI-encoded redirect of an ErrorDocument's script (http/error-redirect.ts relayText:
 * the request line names the script's URL, this what the failed request leaves it). A daemon believes
 * it because only the fronts can reach its socket; fronts drop it from what clients send.
 */
export const FRONT_HEADER = "WSGI-Bin-Front";
export const FRONT_HEADER_LOWER = "wsgi-bin-front";
export const FRONT_EXPECT = "expect";
export const FRONT_HTTP10 = "http10";
export const FRONT_USER = "user=";
export const FRONT_SNI = "sni=";
export const FRONT_REDIRECT = "redirect=";

/**
 * The status a daemon process answers when a script changed since it loaded it (mod_wsgi's daemon-mode
 * reload): the front sends the request to another process, the supervisor restarts the group. Outside
 * HTTP's three digits, so no application can send it. Twinned in src/python/adapter.py.
 */
export const SCRIPT_CHANGED_STATUS = 1000;

/** Supervisor -> front: the live sockets of each daemon group (ready, not being retired). */
export interface DaemonList {
  daemons: Record<string, string[]>;
  seq: number;
}

/** Front -> supervisor: the list numbered `ack` is in use (sockets it dropped get no new request). */
export interface DaemonListAck {
  ack: number;
}
