// Files sent as they are (Alias, AliasMatch, DocumentRoot), as Apache's core, mod_dir and
// mod_autoindex send them: the path never leaves its mapping (and, without Options FollowSymLinks,
// never passes through a symbolic link), Require is enforced, a directory gets its slash, its
// DirectoryIndex file or (with Options Indexes) a listing; a file gets its Content-Type, ETag and
// Last-Modified, answers conditional requests (304, 412) and ranges (206, 416), and is read in blocks
// written with the connection's backpressure, never whole into memory.
import type { Stats } from "node:fs";
import { open, readdir, realpath, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { effectiveOptions, settingsFor } from "../../config/resolve.ts";
import type { AuthScript, DirSettings } from "../../config/site.ts";
import type { ErrorLog } from "../../log/error-log.ts";
import { logItem, logPath } from "../../log/log-item.ts";
import type { Target } from "../request-target.ts";
import type { Connection } from "../wire/connection.ts";
import { headerValue, type ParsedHead } from "../wire/head-parser.ts";
import type { WireResponse } from "../wire/response-writer.ts";
import { accessGate, type Gate } from "./access.ts";
import { admit, admitRequest, authRequest, type AuthRequest } from "./basic-auth.ts";
import { directoryListing, LISTING_TYPE, type ListingEntry } from "./directory-listing.ts";
import { headEditor } from "./header-rules.ts";
import type { HostRuntime } from "./host-runtime.ts";
import { contentType } from "./mime-types.ts";
import { type PageSink, sendPage, sendRedirect } from "./pages.ts";
import { parseRange, type ByteRange } from "./ranges.ts";
import { absoluteUrl, findRedirect, type UrlBase } from "./redirects.ts";
import { escapePath } from "./url-map.ts";

export interface FileRequest {
  connection: Connection;
  head: ParsedHead;
  target: Target;
  host: HostRuntime;
  response: WireResponse;
  /** For redirects: the scheme and the Host asked for. */
  base: UrlBase;
  errorLog: ErrorLog;
  /** What a WSGIAuthUserScript or WSGIAuthGroupScript where a gate stands would run with (app.ts). */
  authScripts?: (gate: Gate | null, accessScript?: AuthScript | null) => AuthRequest["scripts"];
}

/** Nothing logged: a listing leaves out what the request could not open, as mod_autoindex's subrequests do. */
const QUIET = { error() {} };

/** Would the request be let in where the gate stands (with the credentials it brought)? */
async function mayOpen(gate: Gate, request: FileRequest): Promise<boolean> {
  const admission = await admit(gate, authRequest(request.connection, request.head, "", request.authScripts?.(gate)), QUIET);
  return admission.status === 0;
}

/** What the default handler allows on a file or a listing, as Apache lists it: TRACE unless TraceEnable is off. */
const allowedOn = (host: HostRuntime) => (host.vhost.traceEnable === "off" ? "GET,POST,OPTIONS,HEAD" : "GET,POST,OPTIONS,HEAD,TRACE");
const allowed = (request: FileRequest) => allowedOn(request.host);

/** OPTIONS as the default handler answers it: what it allows, and the type of what the path names, if anything. */
function sendOptions(response: PageSink, host: HostRuntime, type: string | null): void {
  response.complete(`200 OK\0Allow\0${allowedOn(host)}\0Content-Length\x000${type ? `\0Content-Type\0${type}` : ""}`, EMPTY);
}

/**
 * Apache's default handler on a path that names no file (nor anything else): OPTIONS is answered all
 * the same, a method it never serves (PUT, DELETE...) is 405, GET, HEAD and POST are 404. `missing`
 * logs the 404's reason.
 */
export function sendMissing(response: PageSink, host: HostRuntime, method: string, missing?: () => void): void {
  if (method === "OPTIONS") return sendOptions(response, host, null);
  if (method !== "GET" && method !== "HEAD" && method !== "POST") return sendPage(response, 405, ["Allow", allowedOn(host)], { method });
  missing?.();
  return sendPage(response, 404);
}

const BLOCK = 1 << 18;
/** The type mod_mime gives a directory (Apache's DIR_MAGIC_TYPE), which OPTIONS on a listing shows. */
const DIRECTORY_TYPE = "httpd/unix-directory";
const EMPTY = new Uint8Array(0);

const client = (request: FileRequest) => `[client ${request.connection.peerAddress}:${request.connection.peerPort}]`;
const forbidden = (code: string | undefined) => code === "EACCES" || code === "EPERM";

/** Serves `file`, the mapping of URL `path`; `root` is the mapped directory (the file may not leave it). */
export async function serveFile(request: FileRequest, file: string, root: string, path: string): Promise<void> {
  const { response, errorLog } = request;
  const rel = relative(root, resolve(file));
  if (rel === ".." || rel.startsWith("../")) {
    // The target parser already refuses every way of climbing; this is the file system's word on it.
    errorLog.error(`${client(request)} ${logPath(file)} is outside ${root}: refused.`);
    return sendPage(response, 403);
  }
  let stats: Stats | null = null;
  let failure: string | undefined;
  try {
    stats = await stat(file);
  } catch (error) {
    failure = (error as NodeJS.ErrnoException).code;
  }
  const directory = stats?.isDirectory() ?? false;
  const settings = settingsFor(request.host.vhost, path, directory ? file.replace(/\/?$/, "/") : file);
  response.editHead = headEditor(settings.headers);
  const options = effectiveOptions(settings.options);
  if (stats && !options.has("FollowSymLinks") && (await throughSymlink(root, file))) {
    errorLog.error(`${client(request)} AH00032: Symbolic link not allowed or link target not accessible: ${logPath(file)}`);
    return sendPage(response, 403);
  }
  const gate = accessGate(settings.access, settings.auth);
  const accessScript = request.host.accessScriptIn(settings);
  if (!(await admitRequest(gate, request.connection, request.head, path, response, errorLog, logPath(file), request.authScripts?.(gate, accessScript), accessScript))) return;
  if (settings.redirects?.length) {
    const hit = findRedirect(settings.redirects, path, request.target.query, request.base);
    if (hit) return sendRedirect(response, hit, errorLog);
  }
  if (!stats) {
    if (forbidden(failure)) {
      errorLog.error(`${client(request)} AH00035: access to ${logItem(path)} denied (filesystem path '${logPath(file)}') because search permissions are missing on a component of the path`);
      return sendPage(response, 403);
    }
    return sendMissing(response, request.host, request.head.method, () => errorLog.info(`${client(request)} AH00128: File does not exist: ${logPath(file)}`));
  }
  if (directory) return serveDirectory(request, file, root, path, settings, options);
  if (path.endsWith("/") || !stats.isFile()) {
    return sendMissing(response, request.host, request.head.method,
      () => errorLog.info(`${client(request)} AH00128: File does not exist: ${logPath(file)}${path.endsWith("/") ? "/" : ""}`));
  }
  if (request.host.isHandlerScript(path, file)) {
    // A WSGI script that was not run (app.ts runs those a path leads to): its source is never sent.
    errorLog.error(`${client(request)} ${logPath(file)} is a WSGI script (AddHandler or SetHandler wsgi-script), never sent as a file: refused.`);
    return sendPage(response, 403);
  }
  return sendFile(request, file);
}

/** Does the path from `root` down to `file` pass through a symbolic link? (`root` itself may be one.) */
async function throughSymlink(root: string, file: string): Promise<boolean> {
  let base = root;
  let rel = relative(root, file);
  if (rel.startsWith("..")) {
    base = dirname(file);
    rel = basename(file);
  }
  try {
    const [realBase, realFile] = await Promise.all([realpath(base), realpath(file)]);
    return realFile !== join(realBase, rel).replace(/\/$/, "");
  } catch {
    return true;
  }
}

async function serveDirectory(request: FileRequest, dir: string, root: string, path: string, settings: DirSettings, options: Set<string>): Promise<void> {
  const { response, errorLog, head } = request;
  if (!path.endsWith("/")) {
    // mod_dir's DirectorySlash: relative links inside the directory need the slash.
    const query = request.target.query;
    const location = absoluteUrl(`${escapePath(path)}/`, request.base) + (query ? `?${query}` : "");
    return sendRedirect(response, { status: 301, location }, errorLog);
  }
  const index = settings.directoryIndex ?? ["index.html"];
  for (const name of index) {
    if (name.includes("/")) continue; // a URL-path index (DirectoryIndex /index.php) is not looked up here
    const candidate = join(dir, name);
    let found = false;
    try {
      found = (await stat(candidate)).isFile();
    } catch {}
    if (found) return serveFile(request, candidate, root, path + name);
  }
  if (!options.has("Indexes")) {
    errorLog.error(`${client(request)} AH01276: Cannot serve directory ${logPath(dir.replace(/\/?$/, "/"))}: No matching DirectoryIndex (${index.join(",") || "none"}) found, and server-generated directory index forbidden by Options directive`);
    return sendPage(response, 403);
  }
  // mod_autoindex lists for GET and HEAD; POST falls to the default handler, which serves no directory.
  if (head.method === "OPTIONS") return sendOptions(response, request.host, DIRECTORY_TYPE);
  if (head.method === "POST") {
    errorLog.info(`${client(request)} AH00129: Attempt to serve directory: ${logPath(dir.replace(/\/?$/, "/"))}`);
    return sendPage(response, 404);
  }
  if (head.method !== "GET" && head.method !== "HEAD") return sendPage(response, 405, ["Allow", allowed(request)], { method: head.method });
  const entries: ListingEntry[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    const name = Buffer.from(dirent.name, "utf8").toString("latin1"); // its bytes, as Apache writes them
    const full = join(dir, dirent.name);
    let isDirectory = dirent.isDirectory();
    if (dirent.isSymbolicLink()) {
      if (!options.has("FollowSymLinks")) continue; // Apache leaves out what it would refuse
      try {
        isDirectory = (await stat(full)).isDirectory();
      } catch {
        continue;
      }
    }
    const own = settingsFor(request.host.vhost, path + name, isDirectory ? `${full}/` : full);
    const gate = accessGate(own.access, own.auth);
    if (gate && !(await mayOpen(gate, request))) continue;
    entries.push({ name, directory: isDirectory });
  }
  const body = Buffer.from(directoryListing(path, entries), "latin1");
  response.complete(`200 OK\0Content-Type\0${LISTING_TYPE}`, body);
}

/** The default handler: validators, conditions, ranges, then the bytes. */
async function sendFile(request: FileRequest, file: string): Promise<void> {
  const { head, response } = request;
  const method = head.method;
  if (method === "OPTIONS") return sendOptions(response, request.host, contentType(basename(file)) ?? null);
  if (method !== "GET" && method !== "HEAD" && method !== "POST") return sendPage(response, 405, ["Allow", allowed(request)], { method });
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    request.errorLog.error(`${client(request)} AH00132: file permissions deny server access: ${logPath(file)}`);
    return sendPage(response, forbidden((error as NodeJS.ErrnoException).code) ? 403 : 404);
  }
  try {
    const info = await handle.stat({ bigint: true });
    const size = Number(info.size);
    const now = Date.now();
    const mtimeMicros = info.mtimeNs / 1000n;
    const mtimeSeconds = Number(info.mtimeNs / 1_000_000_000n);
    // Apache's FileETag MTime Size, weak while the file is less than a second old (it may change again within it).
    const weak = BigInt(now) * 1000n - mtimeMicros < 1_000_000n;
    const etag = `${weak ? "W/" : ""}"${info.size.toString(16)}-${mtimeMicros.toString(16)}"`;
    const lastModified = new Date(Math.min(mtimeSeconds * 1000, now)).toUTCString();
    const validators = ["Last-Modified", lastModified, "ETag", etag, "Accept-Ranges", "bytes"];
    const type = contentType(basename(file));
    const typeField = type ? ["Content-Type", type] : [];
    const condition = preconditions(head, etag, mtimeSeconds, now / 1000);
    // As Apache's default handler: a 412 is the file's head with no body, a 304 its validators.
    if (condition === 412) return response.complete(["412 Precondition Failed", ...validators, "Content-Length", "0", ...typeField].join("\0"), EMPTY);
    if (condition === 304) return response.complete(["304 Not Modified", ...validators].join("\0"), EMPTY);

    const range = method === "GET" || method === "HEAD" ? headerValue(head, "range") : null;
    const ranges = range !== null && ifRange(head, etag, lastModified) ? parseRange(range, size) : null;
    if (ranges === "unsatisfiable") return sendPage(response, 416);
    if (!ranges) {
      const fields = ["200 OK", ...validators, "Content-Length", String(size), ...typeField];
      return await sendParts(response, handle, fields.join("\0"), [{ start: 0, end: size - 1 }], [], null, method === "HEAD");
    }
    if (ranges.length === 1) {
      const [{ start, end }] = ranges as [ByteRange];
      const fields = ["206 Partial Content", ...validators, "Content-Length", String(end - start + 1), "Content-Range", `bytes ${start}-${end}/${size}`, ...typeField];
      return await sendParts(response, handle, fields.join("\0"), ranges, [], null, method === "HEAD");
    }
    // multipart/byteranges, laid out as Apache's byterange filter writes it.
    const boundary = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const prefixes = ranges.map(({ start, end }) => Buffer.from(`\r\n--${boundary}\r\n${type ? `Content-type: ${type}\r\n` : ""}Content-range: bytes ${start}-${end}/${size}\r\n\r\n`, "latin1"));
    const suffix = Buffer.from(`\r\n--${boundary}--\r\n`, "latin1");
    const length = ranges.reduce((sum, { start, end }, i) => sum + prefixes[i]!.length + end - start + 1, suffix.length);
    const fields = ["206 Partial Content", ...validators, "Content-Length", String(length), "Content-Type", `multipart/byteranges; boundary=${boundary}`];
    return await sendParts(response, handle, fields.join("\0"), ranges, prefixes, suffix, method === "HEAD");
  } finally {
    await handle.close();
  }
}

/** Each range from the file (after its prefix), in blocks, each written before the next is read. */
async function sendParts(response: WireResponse, handle: FileHandle, head: string, ranges: ByteRange[], prefixes: Buffer[], suffix: Buffer | null, headOnly: boolean): Promise<void> {
  let more = await response.start(head, EMPTY);
  if (!headOnly) {
    const largest = ranges.reduce((most, { start, end }) => Math.max(most, end - start + 1), 1);
    const block = Buffer.allocUnsafe(Math.min(BLOCK, largest));
    parts: for (let i = 0; i < ranges.length && more; i++) {
      if (prefixes[i]) more = await response.send(prefixes[i]!);
      let position = ranges[i]!.start;
      let left = ranges[i]!.end - position + 1;
      while (more && left > 0) {
        const { bytesRead } = await handle.read(block, 0, Math.min(block.length, left), position);
        if (bytesRead === 0) break parts; // the file shrank: the response comes out short, and the connection closes
        position += bytesRead;
        left -= bytesRead;
        more = await response.send(block.subarray(0, bytesRead));
      }
    }
    if (more && suffix) await response.send(suffix);
  }
  response.end();
}

/** ap_meets_conditions: 412 when If-Match/If-Unmodified-Since fail, 304 when If-None-Match/If-Modified-Since hold, else 0. */
function preconditions(head: ParsedHead, etag: string, mtime: number, now: number): 0 | 304 | 412 {
  const safe = head.method === "GET" || head.method === "HEAD";
  const ifMatch = headerValue(head, "if-match");
  if (ifMatch !== null) {
    if (ifMatch.trim() !== "*" && !listed(ifMatch, etag, true)) return 412;
  } else {
    const since = Date.parse(headerValue(head, "if-unmodified-since") ?? "");
    if (!Number.isNaN(since) && mtime > since / 1000) return 412;
  }
  const ifNoneMatch = headerValue(head, "if-none-match");
  if (ifNoneMatch !== null) {
    if (ifNoneMatch.trim() === "*" || listed(ifNoneMatch, etag, false)) return safe ? 304 : 412;
    return 0;
  }
  if (!safe) return 0;
  const since = Date.parse(headerValue(head, "if-modified-since") ?? "") / 1000;
  return !Number.isNaN(since) && since <= now && mtime <= since ? 304 : 0;
}

/** Is the entity tag in the list? Strong comparison: neither may be weak; weak: W/ is ignored. */
function listed(list: string, etag: string, strong: boolean): boolean {
  if (strong && etag.startsWith("W/")) return false;
  const bare = etag.replace(/^W\//, "");
  return list.split(",").some((item) => {
    const tag = item.trim();
    return strong ? tag === etag : tag.replace(/^W\//, "") === bare;
  });
}

/** If-Range: the Range counts only if the file is still the one the client has (strong ETag, or exact Last-Modified). */
function ifRange(head: ParsedHead, etag: string, lastModified: string): boolean {
  const value = headerValue(head, "if-range");
  if (value === null) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"')) return !etag.startsWith("W/") && trimmed === etag;
  return trimmed === lastModified;
}
