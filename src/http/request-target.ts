// The request target from Bun's request.url, which is absolute ("http://host/p?q") when the client
// sent a Host header and just the target ("/p?q") when it did not (HTTP/1.0).
import { decodePath } from "./aliases.ts";

export interface Target {
  /** The target as received: path and query, still percent-encoded (REQUEST_URI). */
  raw: string;
  /** The percent-decoded path as latin-1 bytes, repeated slashes collapsed (what aliases match). */
  path: string;
  query: string;
}

// Hono's getPath and serve() parse the same request.url back to back, before either awaits: keep the
// last answer so each request's target is parsed once.
let lastUrl = "";
let lastTarget: Target = { raw: "/", path: "/", query: "" };

export function parseTarget(url: string): Target {
  if (url === lastUrl) return lastTarget;
  lastTarget = parse(url);
  lastUrl = url;
  return lastTarget;
}

function parse(url: string): Target {
  const start = url.charCodeAt(0) === 47 /* / */ ? 0 : url.indexOf("/", url.indexOf("//") + 2);
  const raw = start < 0 ? "/" : url.slice(start);
  const queryStart = raw.indexOf("?");
  return {
    raw,
    path: decodePath(queryStart < 0 ? raw : raw.slice(0, queryStart)),
    query: queryStart < 0 ? "" : raw.slice(queryStart + 1),
  };
}

/** Hono's getPath: route on the same decoded path that SCRIPT_NAME and PATH_INFO are cut from. */
export const routingPath = (request: Request): string => parseTarget(request.url).path;
