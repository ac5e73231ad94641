// mod_auth_basic with mod_authn_file (and mod_authz_groupfile's groups): a request that only a
// user-based Require can let in is answered 401 until it brings credentials the AuthUserFile accepts
// for a user that Require names. The log lines are Apache's, as 2.4.71 words them.
import { createHash } from "node:crypto";
import { libc } from "../../ffi/libc.ts";
import { headerValue, type ParsedHead } from "../wire/head-parser.ts";
import { type Gate, Verdict } from "./access.ts";
import { AuthFileError, GroupFile, PasswordFile, verifyPassword } from "./htpasswd.ts";
import { type PageSink, sendPage } from "./pages.ts";

/** Where admit() says why an authentication failed (a host's ErrorLog; a no-op for a listing's quiet checks). */
export interface AuthLog {
  error(message: string): void;
}

/** The user each request named (authenticated or refused), for the access log's %u: kept with its head. */
export const remoteUsers = new WeakMap<ParsedHead, string>();

/** What the gate lets a request do: in (status 0), or the status to answer. */
export interface Admission {
  status: 0 | 401 | 403 | 500;
  /** Who sent it: authenticated (status 0), or named in the credentials refused (the access log's %u). */
  user: string | null;
  /** The realm a 401 names (WWW-Authenticate). */
  realm?: string;
}

export interface AuthRequest {
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  /** The Authorization header, if any. */
  authorization: string | undefined;
  /** The request's path, decoded (Apache's r->uri): what the log lines name. */
  path: string;
  /** A daemon process: the user the front process authenticated (and let in) already. */
  relayedUser?: string | null;
}

const GRANTED: Admission = { status: 0, user: null };
const DENIED: Admission = { status: 403, user: null };
const FAILED: Admission = { status: 500, user: null };

/** AuthUserFile and AuthGroupFile by path: each re-read when it changed, as Apache reads it per request. */
const passwordFiles = new Map<string, PasswordFile>();
const groupFiles = new Map<string, GroupFile>();

/**
 * Asks the gate about a request, authenticating it when only a user-based Require can let it in. Logs
 * why an authentication failed; a plain 403 (no user involved) is for the caller to log (AH01630),
 * as it names the file or path refused.
 */
export function admit(gate: Gate, request: AuthRequest, log: AuthLog): Admission {
  const verdict = gate.check(request.peerAddress, request.localAddress);
  if (verdict === Verdict.Granted) return GRANTED;
  if (verdict === Verdict.Denied) return DENIED;
  if (request.relayedUser) return { status: 0, user: request.relayedUser };
  const client = `[client ${request.peerAddress}:${request.peerPort}]`;
  const auth = gate.auth ?? {};
  const type = auth.type?.toLowerCase();
  if (type !== "basic") {
    if (type === undefined || type === "none") {
      log.error(`${client} AH00027: No authentication done but request not allowed without authentication for ${request.path}. Authentication not configured?`);
    } else {
      log.error(`${client} AuthType ${auth.type} is not implemented by wsgi-bin (only Basic): ${request.path}`);
    }
    return FAILED;
  }
  if (!auth.name) {
    log.error(`${client} AH01615: need AuthName: ${request.path}`);
    return FAILED;
  }
  const realm = auth.name;
  const credentials = basicCredentials(request.authorization);
  if (credentials === null) return { status: 401, user: null, realm };
  if (credentials === "other scheme") {
    log.error(`${client} AH01614: client used wrong authentication scheme: ${request.path}`);
    return { status: 401, user: null, realm };
  }
  const { user, userBytes, password } = credentials;
  if (auth.providers && !auth.providers.includes("file")) {
    log.error(`${client} AuthBasicProvider ${auth.providers.join(" ")} is not implemented by wsgi-bin (only file): ${request.path}`);
    return { status: 500, user };
  }
  if (!auth.userFile) {
    log.error(`${client} AH01619: AuthUserFile not specified in the configuration: ${request.path}`);
    return { status: 500, user };
  }
  const hash = fileFor(passwordFiles, auth.userFile, PasswordFile).lookup(userBytes);
  if (hash instanceof AuthFileError) {
    log.error(`${errnoPrefix(hash)}${client} ${hash.message}`);
    return { status: 500, user };
  }
  if (hash === null) {
    log.error(`${client} AH01618: user ${user} not found: ${request.path}`);
    return { status: 401, user, realm };
  }
  if (!passwordMatches(password, hash)) {
    log.error(`${client} AH01617: user ${user}: authentication failure for "${request.path}": Password Mismatch`);
    return { status: 401, user, realm };
  }
  const admitted = gate.admitsUser(user, () => groupsOf(userBytes, auth.groupFile));
  if (admitted === true) return { status: 0, user };
  if (admitted instanceof Error) log.error(`${admitted instanceof AuthFileError ? errnoPrefix(admitted) : ""}${client} ${admitted.message}`);
  log.error(`${client} AH01631: user ${user}: authorization failure for "${request.path}": `);
  return { status: 401, user, realm };
}

/** Who sent a request, as admitRequest needs it (a wire Connection, a daemon's FrontPeer...). */
export interface AuthPeer {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly localAddress?: string;
  /** The user a front process authenticated (a daemon process's relayed requests). */
  readonly relayedUser?: string | null;
}

/**
 * The gate's answer for a request, the user noted for its access log line. A refusal is sent here
 * (401 with the realm, 403, 500) and null returned; a 403 is logged naming `refusedItem` (the file or
 * path), as Apache's AH01630.
 */
export function admitRequest(gate: Gate | null, peer: AuthPeer, head: ParsedHead, path: string, response: PageSink, log: AuthLog,
  refusedItem: string): Admission | null {
  if (!gate) return GRANTED;
  const admission = admit(gate, {
    peerAddress: peer.peerAddress, peerPort: peer.peerPort, localAddress: peer.localAddress ?? "",
    authorization: headerValue(head, "authorization") ?? undefined, path, relayedUser: peer.relayedUser,
  }, log);
  if (admission.user !== null) remoteUsers.set(head, admission.user);
  if (admission.status === 0) return admission;
  if (admission.status === 403) log.error(`[client ${peer.peerAddress}:${peer.peerPort}] AH01630: client denied by server configuration: ${refusedItem}`);
  if (admission.status === 401) sendPage(response, 401, ["WWW-Authenticate", `Basic realm="${admission.realm}"`]);
  else sendPage(response, admission.status);
  return null;
}

/**
 * The user and password of `Basic base64(user:password)`: null when there is no header, "other scheme"
 * for Bearer and the like. Bytes, as Apache compares them; the user also as latin-1 text (one char a
 * byte), as REMOTE_USER and the logs carry it.
 */
function basicCredentials(header: string | undefined): { user: string; userBytes: Buffer; password: Buffer } | null | "other scheme" {
  if (header === undefined) return null;
  const value = header.trimStart();
  const space = value.indexOf(" ");
  if (value.slice(0, space < 0 ? value.length : space).toLowerCase() !== "basic") return "other scheme";
  // As Apache's ap_pbase64decode: lenient, whatever decodes is taken; no colon leaves the password empty.
  const decoded = Buffer.from(value.slice(space + 1).trim(), "base64");
  const colon = decoded.indexOf(0x3a);
  const userBytes = decoded.subarray(0, colon < 0 ? decoded.length : colon);
  return { user: userBytes.toString("latin1"), userBytes, password: colon < 0 ? Buffer.alloc(0) : decoded.subarray(colon + 1) };
}

/**
 * Credentials verified lately, as SHA-256 digests of the stored hash and the password (no password is
 * kept). A browser sends the same ones with every request, and the slow hashes run on the HTTP thread:
 * apr1 ~0.4 ms, bcrypt (cost 5) ~1.7 ms and SHA-512 crypt ~1.3 ms each here. A changed password file
 * gives another hash, so another digest; failures are never kept. Emptied when full.
 */
const verified = new Set<string>();
const VERIFIED_LIMIT = 4096;

function passwordMatches(password: Buffer, hash: string): boolean {
  const digest = createHash("sha256").update(hash, "latin1").update("\0").update(password).digest("base64");
  if (verified.has(digest)) return true;
  if (!verifyPassword(password, hash)) return false;
  if (verified.size >= VERIFIED_LIMIT) verified.clear();
  verified.add(digest);
  return true;
}

function groupsOf(user: Uint8Array, groupFile: string | undefined): string[] | Error {
  if (!groupFile) return new Error("AH01664: No group file was specified in the configuration");
  return fileFor(groupFiles, groupFile, GroupFile).groupsOf(user);
}

function fileFor<T>(cache: Map<string, T>, path: string, make: new (path: string) => T): T {
  let file = cache.get(path);
  if (!file) cache.set(path, (file = new make(path)));
  return file;
}

/** Apache's "(2)No such file or directory: " before a line about a failed open. */
function errnoPrefix(error: AuthFileError): string {
  return `(${error.errno})${libc().strerror(error.errno)}: `;
}
