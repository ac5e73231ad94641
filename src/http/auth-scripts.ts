// mod_wsgi's auth hooks: a WSGIAuthUserScript's check_password(environ, user, password), a
// WSGIAuthGroupScript's groups_for_user(environ, user) and a WSGIAccessScript's allow_access(environ,
// host), run on a worker thread in the script's
// application group (%{GLOBAL} unless application-group= names another), in the process that took the
// request, as mod_wsgi runs them in embedded mode. The request's environ is what an app would get,
// without wsgi.input; the answer comes back as a Complete message's payload (adapter.py's authenticate).
import type { AuthScript } from "../config/site.ts";
import { REQUEST_AUTH, ToMain } from "../pool/channel.ts";
import { Refusal, type Pool } from "../pool/pool.ts";
import { applicationGroupName } from "./aliases.ts";
import { writeRequestHead } from "./request-head.ts";
import type { EnvironContext } from "./site/environ-context.ts";
import { cString } from "./site/htpasswd.ts";
import type { ParsedHead } from "./wire/head-parser.ts";

/** What the environ of an auth script's call is made of. */
export interface AuthScriptRequest {
  head: ParsedHead;
  /** The request's path, decoded: SCRIPT_NAME, as mod_wsgi gives it (PATH_INFO is empty)... */
  path: string;
  /** ...but where a WSGI route took the path, allow_access gets its SCRIPT_NAME and PATH_INFO. */
  route?: { scriptName: string; pathInfo: string };
  query: string;
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  serverName: string;
  /** SERVER_PORT: the port Host names, else the scheme's. */
  serverPort: string;
  /** The listener's port (what %{SERVER} names a group by). */
  port: number;
  scheme: string;
  /** The host's environ values from the configuration (DOCUMENT_ROOT, SERVER_ADMIN...). */
  context: EnvironContext;
}

/**
 * check_password's answer: true, false, null (no such user: the next provider is asked), a name (let
 * in as that user: mod_wsgi makes a returned string REMOTE_USER), or why it failed (500).
 */
export type PasswordAnswer = boolean | null | { user: string } | Error;

/** The script ran and failed: the adapter logged why (its traceback), nothing more is to be said. */
export class ScriptFailed extends Error {}

/** Names twinned in adapter.py (AUTH_USER, AUTH_PASSWORD): taken out of environ before the call. */
const AUTH_USER = "\u0001user";
const AUTH_PASSWORD = "\u0001password";
const AUTH_HOST = "\u0001host";

export class AuthScripts {
  /** `queueTimeoutMs`: --queue-timeout, as for the app's requests (0: wait for a worker as long as it takes). */
  constructor(private readonly pool: Pool | null, private readonly queueTimeoutMs = 0) {}

  async checkPassword(script: AuthScript, request: AuthScriptRequest, user: string, password: Uint8Array): Promise<PasswordAnswer> {
    const answer = await this.call(script, "check_password", request, [AUTH_USER, user, AUTH_PASSWORD, Buffer.from(cString(password)).toString("latin1")]);
    if (answer instanceof Error) return answer;
    if (answer.startsWith("=")) return { user: answer.slice(1) };
    return answer === "1" ? true : answer === "0" ? false : null;
  }

  /** The user's groups (latin-1 text, one char a byte), or why the script failed. */
  async groupsForUser(script: AuthScript, request: AuthScriptRequest, user: string): Promise<string[] | Error> {
    const answer = await this.call(script, "groups_for_user", request, [AUTH_USER, user]);
    if (answer instanceof Error) return answer;
    return answer === "" ? [] : answer.split("\0");
  }

  /** allow_access's answer for a client at `host` (True, False, None), or why the script failed (logged by the adapter but for its Error's message). */
  async allowAccess(script: AuthScript, request: AuthScriptRequest, host: string): Promise<boolean | null | Error> {
    const answer = await this.call(script, "allow_access", request, [AUTH_HOST, host], request.route);
    if (answer instanceof Error) return answer;
    return answer === "" ? null : answer === "1";
  }

  /** Runs `callable` of the script; resolves to its answer's payload, or an Error when it could not answer (logged by the adapter). */
  private async call(script: AuthScript, callable: string, request: AuthScriptRequest, env: string[],
      route = { scriptName: request.path, pathInfo: "" }): Promise<string | Error> {
    const pool = this.pool;
    if (!pool) return new Error(`${script.script}: no Python runs in this process to call its ${callable}`);
    const slot = await pool.acquire(this.queueTimeoutMs);
    if (slot instanceof Refusal) return new Error(`${slot.reason} for WSGI script '${script.script}' (${callable}): ${slot.detail}`);
    try {
      const { head } = request;
      const length = writeRequestHead(slot.channel, {
        group: applicationGroupName({ applicationGroup: script.applicationGroup, url: "" }, request.serverName, request.port),
        script: script.script, callable, reload: true, passAuthorization: false, contextId: request.context.id,
        scriptName: route.scriptName, pathInfo: route.pathInfo, query: request.query, method: head.method, protocol: head.protocol,
        requestUri: head.target, remoteAddr: request.peerAddress, remotePort: String(request.peerPort),
        serverName: request.serverName, serverPort: request.serverPort, serverAddr: request.localAddress, pathTranslated: "",
        scheme: request.scheme, bodyLength: "", requestId: "", mountPoint: null, signature: "", context: request.context.text,
        env: env.map(cleanField), headers: head.headers,
      });
      if (length < 0) return new Error(`the request's head is too large to call ${callable} of '${script.script}'`);
      slot.sendRequest(length, REQUEST_AUTH);
      const kind = await slot.receive();
      if (kind !== ToMain.Complete) return new ScriptFailed(`its ${callable} failed`);
      return slot.channel.buffer.toString("latin1", 0, slot.channel.length());
    } finally {
      pool.release(slot);
    }
  }
}

/** The head's fields are NUL-separated: a NUL in a user name ends it, as in C. */
function cleanField(text: string): string {
  const nul = text.indexOf("\0");
  return nul < 0 ? text : text.slice(0, nul);
}
