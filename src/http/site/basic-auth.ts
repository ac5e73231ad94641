// mod_auth_basic with mod_authn_file (and mod_authz_groupfile's groups): a request that only a
// user-based Require can let in is answered 401 until it brings credentials the AuthUserFile accepts
// for a user that Require names. The log lines are Apache's, as 2.4.71 words them.
import { createHash } from "node:crypto";
import { libc } from "../../ffi/libc.ts";
import { logItem } from "../../log/log-item.ts";
import { headerValue, type ParsedHead } from "../wire/head-parser.ts";
import type { AuthScript, AuthSettings } from "../../config/site.ts";
import { type AuthScriptRequest, type AuthScripts, ScriptFailed } from "../auth-scripts.ts";
import { type Gate, Verdict } from "./access.ts";
import { AuthFileError, GroupFile, PasswordFile } from "./htpasswd.ts";
import { checkPassword } from "./password-checks.ts";
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
  /** What WSGIAuthUserScript and WSGIAuthGroupScript run with (none: they fail, 500). */
  scripts?: { calls: AuthScripts; request: AuthScriptRequest };
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
export function admit(gate: Gate, request: AuthRequest, log: AuthLog): Admission | Promise<Admission> {
  const verdict = gate.check(request.peerAddress, request.localAddress);
  if (verdict === Verdict.Granted) return GRANTED;
  if (verdict === Verdict.Denied) return DENIED;
  if (request.relayedUser) return { status: 0, user: request.relayedUser };
  const client = `[client ${request.peerAddress}:${request.peerPort}]`;
  // What the client sent goes into log lines escaped, as Apache's error log escapes it (no forged lines).
  request = { ...request, path: logItem(request.path) };
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
  return authenticate(gate, auth, realm, credentials, request, client, log);
}

/** What a provider says of a user and password: "not found" lets the next provider answer. */
type Checked = "granted" | "not found" | "mismatch" | "failed";

/**
 * The credentials through AuthBasicProvider's providers in order (the file, mod_wsgi's script), then
 * the user through the user-based Require lines. Asynchronous: a script runs on a worker thread.
 */
async function authenticate(gate: Gate, auth: AuthSettings, realm: string, credentials: Credentials, request: AuthRequest,
  client: string, log: AuthLog): Promise<Admission> {
  const { userBytes, password } = credentials;
  let user = credentials.user;
  let checked: Checked = "not found";
  for (const provider of auth.providers ?? ["file"]) {
    if (provider === "file") checked = await checkFile(auth, userBytes, password, request, client, log);
    else if (provider === "wsgi") {
      const answer = await checkScript(auth, user, password, request, client, log);
      if (typeof answer === "object") user = answer.user; // mod_wsgi: the name the script gave
      checked = typeof answer === "object" ? "granted" : answer;
    }
    else {
      log.error(`${client} AuthBasicProvider ${provider} is not implemented by wsgi-bin (only file and wsgi): ${request.path}`);
      checked = "failed";
    }
    if (checked !== "not found") break;
  }
  if (checked === "failed") return { status: 500, user };
  const named = logItem(user);
  if (checked === "not found") {
    log.error(`${client} AH01618: user ${named} not found: ${request.path}`);
    return { status: 401, user, realm };
  }
  if (checked === "mismatch") {
    log.error(`${client} AH01617: user ${named}: authentication failure for "${request.path}": Password Mismatch`);
    return { status: 401, user, realm };
  }
  const verdict = await gate.checkUser(user, request.peerAddress, request.localAddress, {
    fileGroups: once(() => {
      const groups = groupsOf(userBytes, auth.groupFile);
      if (!(groups instanceof Error)) return groups;
      log.error(`${groups instanceof AuthFileError ? errnoPrefix(groups) : ""}${client} ${groups.message}`);
      return null;
    }),
    scriptGroups: once(() => scriptGroups(auth, user, request, client, log)),
    notInScriptGroups(groups) {
      // mod_wsgi's own line, before authz_core's.
      log.error(`${client} mod_wsgi (pid=${process.pid}): Authorization of user '${named}' to access '${request.path}' failed. ` +
        `User is not a member of ${groups.length ? "designated" : "any"} groups.`);
    },
  });
  if (verdict === "granted") return { status: 0, user };
  if (verdict === "failed") return { status: 500, user };
  log.error(`${client} AH01631: user ${named}: authorization failure for "${request.path}": `);
  return { status: 401, user, realm };
}

/** `make()`'s answer, made on the first call only (a lookup several Require lines may ask for). */
function once<T>(make: () => T): () => T {
  let made: { value: T } | null = null;
  return () => (made ??= { value: make() }).value;
}

/** mod_authn_file: the user's line in the AuthUserFile, and the password against its hash. */
async function checkFile(auth: AuthSettings, user: Uint8Array, password: Buffer, request: AuthRequest, client: string, log: AuthLog): Promise<Checked> {
  if (!auth.userFile) {
    log.error(`${client} AH01619: AuthUserFile not specified in the configuration: ${request.path}`);
    return "failed";
  }
  const hash = fileFor(passwordFiles, auth.userFile, PasswordFile).lookup(user);
  if (hash instanceof AuthFileError) {
    log.error(`${errnoPrefix(hash)}${client} ${hash.message}`);
    return "failed";
  }
  if (hash === null) return "not found";
  return (await passwordMatches(password, hash)) ? "granted" : "mismatch";
}

/**
 * mod_wsgi's provider: the WSGIAuthUserScript's check_password (its failures logged by the adapter);
 * a name it returns lets the request in as that user.
 */
async function checkScript(auth: AuthSettings, user: string, password: Buffer, request: AuthRequest, client: string,
  log: AuthLog): Promise<Checked | { user: string }> {
  const scripts = request.scripts;
  if (!auth.userScript || !scripts) {
    log.error(`${client} mod_wsgi (pid=${process.pid}): Location of WSGI user authentication script not provided.`);
    return "failed";
  }
  const answer = await scripts.calls.checkPassword(auth.userScript, scripts.request, user, password);
  if (answer instanceof Error) return failed(answer, client, log);
  if (answer !== null && typeof answer === "object") return answer;
  return answer === null ? "not found" : answer ? "granted" : "mismatch";
}

/** The user's groups by the WSGIAuthGroupScript's groups_for_user; "failed" when it could not say. */
async function scriptGroups(auth: AuthSettings, user: string, request: AuthRequest, client: string, log: AuthLog): Promise<string[] | "failed"> {
  const scripts = request.scripts;
  if (!auth.groupScript || !scripts) {
    log.error(`${client} mod_wsgi (pid=${process.pid}): Location of WSGI group authorization script not provided.`);
    return "failed";
  }
  const groups = await scripts.calls.groupsForUser(auth.groupScript, scripts.request, user);
  return groups instanceof Error ? failed(groups, client, log) : groups;
}

/** A script that could not answer: the adapter logged its own failures (a traceback); the rest are logged here. */
function failed(error: Error, client: string, log: AuthLog): "failed" {
  if (!(error instanceof ScriptFailed)) log.error(`${client} mod_wsgi (pid=${process.pid}): ${error.message}`);
  return "failed";
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
 * path), as Apache's AH01630. `accessScript` (WSGIAccessScript) is asked first (see hostAllowed).
 */
export function admitRequest(gate: Gate | null, peer: AuthPeer, head: ParsedHead, path: string, response: PageSink, log: AuthLog,
  refusedItem: string, scripts?: AuthRequest["scripts"], accessScript?: AuthScript | null): Admission | null | Promise<Admission | null> {
  if (accessScript) {
    return hostAllowed(accessScript, peer, scripts, log, refusedItem).then((allowed) => {
      if (allowed) return admitRequest(gate, peer, head, path, response, log, refusedItem, scripts);
      sendPage(response, 403);
      return null;
    });
  }
  if (!gate) return GRANTED;
  const admission = admit(gate, authRequest(peer, head, path, scripts), log);
  return admission instanceof Promise
    ? admission.then((settled) => answered(settled, peer, head, response, log, refusedItem))
    : answered(admission, peer, head, response, log, refusedItem);
}

/**
 * WSGIAccessScript's allow_access(environ, host), as mod_wsgi's access checker runs it before the
 * Require rules: True and None leave the request to them; False, a failure (its traceback logged) or an
 * answer that is neither refuse it (403), logged as mod_wsgi does. `host` is the client's address
 * (no HostnameLookups).
 */
async function hostAllowed(script: AuthScript, peer: AuthPeer, scripts: AuthRequest["scripts"], log: AuthLog, refusedItem: string): Promise<boolean> {
  const client = `[client ${peer.peerAddress}:${peer.peerPort}] mod_wsgi (pid=${process.pid}):`;
  const answer = scripts ? await scripts.calls.allowAccess(script, scripts.request, peer.peerAddress) : new Error(`no Python to run '${script.script}'`);
  if (answer === true || answer === null) return true;
  if (answer instanceof Error && !(answer instanceof ScriptFailed)) log.error(`${client} ${answer.message}`);
  log.error(`${client} Client denied by server configuration: '${refusedItem}'.`);
  return false;
}

/** What admit() asks of a request. */
export function authRequest(peer: AuthPeer, head: ParsedHead, path: string, scripts?: AuthRequest["scripts"]): AuthRequest {
  return {
    peerAddress: peer.peerAddress, peerPort: peer.peerPort, localAddress: peer.localAddress ?? "",
    authorization: headerValue(head, "authorization") ?? undefined, path, relayedUser: peer.relayedUser, scripts,
  };
}

/** admitRequest's end: the user noted, a refusal sent. */
function answered(admission: Admission, peer: AuthPeer, head: ParsedHead, response: PageSink, log: AuthLog, refusedItem: string): Admission | null {
  if (admission.user !== null) remoteUsers.set(head, admission.user);
  if (admission.status === 0) return admission;
  if (admission.status === 403) log.error(`[client ${peer.peerAddress}:${peer.peerPort}] AH01630: client denied by server configuration: ${refusedItem}`);
  if (admission.status === 401) sendPage(response, 401, ["WWW-Authenticate", `Basic realm="${admission.realm}"`]);
  else sendPage(response, admission.status);
  return null;
}

interface Credentials {
  user: string;
  userBytes: Buffer;
  password: Buffer;
}

/**
 * The user and password of `Basic base64(user:password)`: null when there is no header, "other scheme"
 * for Bearer and the like. Bytes, as Apache compares them; the user also as latin-1 text (one char a
 * byte), as REMOTE_USER and the logs carry it.
 */
function basicCredentials(header: string | undefined): Credentials | null | "other scheme" {
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
 * kept). A browser sends the same ones with every request, and the hashes are slow (apr1 ~0.4 ms,
 * bcrypt (cost 5) ~1.7 ms and SHA-512 crypt ~1.3 ms each here, on the password thread, where checks
 * wait their turn: password-checks.ts), so those requests pay a lookup instead. A changed password file
 * gives another hash, so another digest; failures are never kept. Emptied when full.
 */
const verified = new Set<string>();
const VERIFIED_LIMIT = 4096;

async function passwordMatches(password: Buffer, hash: string): Promise<boolean> {
  const digest = createHash("sha256").update(hash, "latin1").update("\0").update(password).digest("base64");
  if (verified.has(digest)) return true;
  if (!(await checkPassword(password, hash))) return false;
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
