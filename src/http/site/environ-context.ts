// The part of a WSGI request's environ that Apache and mod_wsgi take from the configuration and the
// listener (DOCUMENT_ROOT, CONTEXT_*, SERVER_ADMIN, mod_wsgi.listener_*): the same for every request to
// a route on one listener. Worked out once per route's settings and sent in the request head as a
// number (part of the adapter's route key) and a text the adapter reads only when it builds a route's
// base environ (Interpreter.base_environ in src/python/adapter.py, the twin of the separator below).

/** Apache's compiled-in DocumentRoot (Debian's apache2): DOCUMENT_ROOT where the configuration names none. */
export const DEFAULT_DOCUMENT_ROOT = "/var/www/html";

/** What Apache's SERVER_ADMIN says without a ServerAdmin. */
const NO_ADMIN = "[no address given]";

/** Between the names and values in the text (NUL separates the head's fields). */
const SEPARATOR = "\x01";

export interface EnvironContext {
  /** The same number for the same text, in this process. */
  id: string;
  text: string;
}

export interface ContextValues {
  /** The host's DocumentRoot, if any. */
  documentRoot: string | undefined;
  /** The Alias a handler script was found through (mod_alias's ap_set_context_info); null: none. */
  alias: { prefix: string; root: string } | null;
  serverAdmin: string | undefined;
  /** The Listen address as written ("" for any), and the port the request came in on. */
  listenerHost: string;
  listenerPort: number;
  /**
   * The host's error log, where the adapter writes the route's lines (wsgi.errors, print(), tracebacks);
   * undefined: the process's main one, the adapter's own (nothing more in every request's head).
   */
  errorLog?: { fd: number; level: number };
}

/** The key of the route's error log ("FD LEVEL") in the text: the adapter takes it out of environ (ROUTE_LOG_KEY there). */
const ROUTE_LOG_KEY = "wsgi-bin.error_log";

/** Texts seen, by their number: bounded by the configuration's routes, aliases and listeners. */
const numbers = new Map<string, string>();

export function environContext(values: ContextValues): EnvironContext {
  const documentRoot = values.documentRoot ?? DEFAULT_DOCUMENT_ROOT;
  const text = [
    "DOCUMENT_ROOT", documentRoot,
    "CONTEXT_DOCUMENT_ROOT", values.alias?.root ?? documentRoot,
    "CONTEXT_PREFIX", values.alias?.prefix ?? "",
    "SERVER_ADMIN", values.serverAdmin ?? NO_ADMIN,
    "mod_wsgi.listener_host", values.listenerHost,
    "mod_wsgi.listener_port", String(values.listenerPort),
    ...(values.errorLog ? [ROUTE_LOG_KEY, `${values.errorLog.fd} ${values.errorLog.level}`] : []),
  ].map(latin1).join(SEPARATOR);
  let id = numbers.get(text);
  if (id === undefined) numbers.set(text, (id = String(numbers.size + 1)));
  return { id, text };
}

/**
 * mod_wsgi.listener_host: the host of the Listen directive the connection came through, "" where it
 * names none or any address (wsgi-bin reads `Listen 80` and `Listen *:80` as 0.0.0.0).
 */
export function listenerHost(host: string | undefined): string {
  return host === undefined || host === "0.0.0.0" ? "" : host;
}

/**
 * SERVER_SIGNATURE as Apache's ap_psignature words it for ServerSignature On or EMail ("" for Off):
 * the server's name and port as the request names them (UseCanonicalName Off).
 */
export function serverSignature(mode: "off" | "on" | "email" | undefined, software: string, serverName: string, serverPort: string,
    serverAdmin: string | undefined): string {
  if (mode === "on") return `<address>${software} Server at ${escapeHtml(serverName)} Port ${serverPort}</address>\n`;
  if (mode !== "email") return "";
  const admin = serverAdmin ?? NO_ADMIN;
  return `<address>${software} Server at <a href="${admin.includes(":") ? "" : "mailto:"}${escapeHtml(admin)}">${escapeHtml(serverName)}</a> Port ${serverPort}</address>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** A file system path's text as the latin-1 bytes of its UTF-8 (environ's native strings). */
export function latin1(text: string): string {
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, "utf8").toString("latin1") : text;
}
