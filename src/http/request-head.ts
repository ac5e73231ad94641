// The request head as the adapter reads it: fields joined by NUL, latin-1 (PEP 3333's native strings).
// The field order is twinned in src/python/adapter.py (F_GROUP ... F_ENV, then the F_ENV pairs, then
// the headers). The adapter's route key is the fields up to scriptName: contextId is one of them.
import { type Channel, GROUP } from "../pool/channel.ts";

export interface RequestHead {
  group: string;
  script: string;
  /** The callable to call; "" only imports the script (WSGIImportScript, see http/import-scripts.ts). */
  callable: string;
  reload: boolean;
  passAuthorization: boolean;
  /** The number of `context` (environ-context.ts): the same for the same text. */
  contextId: string;
  /** SCRIPT_NAME as the route has it (mod_wsgi.script_name); a trusted proxy's is mountPoint. */
  scriptName: string;
  pathInfo: string;
  query: string;
  method: string;
  protocol: string;
  requestUri: string;
  remoteAddr: string;
  remotePort: string;
  serverName: string;
  serverPort: string;
  /** SERVER_ADDR: the address the connection came in on ("" in process). */
  serverAddr: string;
  /** PATH_TRANSLATED; "" leaves it out (no PATH_INFO, or a Redirect takes it). */
  pathTranslated: string;
  scheme: string;
  /** Declared Content-Length, "chunked" for a body of unknown length, "" for none. */
  bodyLength: string;
  requestId: string;
  /** X-Script-Name from a trusted proxy (SCRIPT_NAME and mod_wsgi.mount_point); null: none. */
  mountPoint: string | null;
  /** SERVER_SIGNATURE when ServerSignature is not Off; "" otherwise. */
  signature: string;
  /** The route's environ values from the configuration (environ-context.ts). */
  context: string;
  /** SetEnv: name, value, name, value... added to environ under the CGI variables (an HTTPS among them decides wsgi.url_scheme). */
  env: string[];
  /** name, value, name, value... as received. */
  headers: string[];
}

/** Application group name -> its number in channel word GROUP (bounded: past it, 0 and the name only). */
const groupNumbers = new Map<string, number>();
const MOST_GROUP_NUMBERS = 1 << 16;

function groupNumber(group: string): number {
  let number = groupNumbers.get(group);
  if (number === undefined) {
    if (groupNumbers.size >= MOST_GROUP_NUMBERS) return 0;
    groupNumbers.set(group, (number = groupNumbers.size + 1));
  }
  return number;
}

/**
 * The application groups a request head was written for (requests, import scripts): those that have
 * an interpreter, or tried to make one. At most MOST_GROUP_NUMBERS of them.
 */
export function groupsWritten(): string[] {
  return [...groupNumbers.keys()];
}

/** Writes the head into the channel's data area; returns its length, or -1 if it does not fit. */
export function writeRequestHead(channel: Channel, head: RequestHead): number {
  channel.control[GROUP] = groupNumber(head.group);
  const parts = [
    head.group, head.script, head.callable, head.reload ? "1" : "0", head.passAuthorization ? "1" : "0",
    head.contextId, head.scriptName, head.pathInfo, head.query, head.method, head.protocol, head.requestUri,
    head.remoteAddr, head.remotePort, head.serverName, head.serverPort, head.serverAddr, head.pathTranslated,
    head.scheme, head.bodyLength, head.requestId,
    // "=" before a mount point, so that a proxy's empty X-Script-Name is told from none.
    head.mountPoint === null ? "" : `=${head.mountPoint}`, head.signature, head.context,
    head.env.length ? String(head.env.length / 2) : "",
  ];
  if (head.env.length) parts.push(...head.env);
  const text = head.headers.length ? `${parts.join("\0")}\0${head.headers.join("\0")}` : parts.join("\0");
  if (text.length > channel.dataSize) return -1;
  return channel.buffer.write(text, 0, "latin1");
}
