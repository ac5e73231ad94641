// ErrorDocument to a local URL that a WSGI script serves: Apache's internal redirect (ap_die). The
// script runs as a GET of that URL with the failed request's head otherwise kept (its headers, its
// REQUEST_URI), without its body, and with what Apache leaves it of the failed request: REDIRECT_STATUS,
// REDIRECT_URL, REDIRECT_QUERY_STRING (when it had a query), REDIRECT_REQUEST_METHOD and
// REDIRECT_ERROR_NOTES (when there are notes). Its response, status and all, is the answer; if it
// fails in turn, the answer is the first error's own page, which says so (PageDetail.additionally).
// Apache also copies the failed request's other environment variables under REDIRECT_ (all its CGI
// variables after a WSGI app failed): those are not reproduced. A script in a daemon process group gets
// the same: the front relays the redirect with the request (relayText, fromRelay).
import type { PageDetail } from "./error-page.ts";
import { parseTarget, type Target } from "./request-target.ts";
import { headerValue, type ParsedHead } from "./wire/head-parser.ts";
import { DROPS_CONNECTION } from "./wire/response-writer.ts";
import type { BodySource } from "./wsgi-exchange.ts";

export interface ErrorRedirect {
  /** The failed request's head as a GET without a body. */
  head: ParsedHead;
  /** REQUEST_URI: the failed request's target, as received. */
  requestUri: string;
  /** The ErrorDocument's URL: the path the script is found by, and QUERY_STRING. */
  target: Target;
  /** The REDIRECT_ variables, as name, value... */
  env: string[];
  /** A HEAD request: the script's response goes without its body. */
  isHead: boolean;
  /** The error ends the connection (Apache's ap_status_drops_connection): so does the script's answer. */
  closes: boolean;
  /** The failed request's status and page detail: its page is the answer if the script fails too. */
  status: number;
  detail: PageDetail | undefined;
}

/** An empty request body: the failed request's stays where it was (read and dropped by the connection). */
export const NO_BODY: BodySource = { readInto: () => Promise.resolve(null) };

/** The redirect of `head`'s error `status` to `document` (a local URL), or null when either is not a valid target. */
export function errorRedirect(head: ParsedHead, document: string, status: number, detail?: PageDetail): ErrorRedirect | null {
  const target = parseTarget(document);
  const failed = parseTarget(head.target);
  if (typeof target === "number" || typeof failed === "number") return null;
  const env = ["REDIRECT_STATUS", String(status), "REDIRECT_URL", failed.path];
  if (failed.query) env.push("REDIRECT_QUERY_STRING", failed.query);
  env.push("REDIRECT_REQUEST_METHOD", head.method);
  if (detail?.notes) env.push("REDIRECT_ERROR_NOTES", detail.notes);
  return {
    head: { ...head, method: "GET", contentLength: -1, chunked: false, expectContinue: false },
    requestUri: head.target,
    target,
    env,
    isHead: head.method === "HEAD",
    closes: DROPS_CONNECTION.has(status),
    status,
    detail,
  };
}

/**
 * What the front tells a daemon process of a redirect it relays (protocol.ts FRONT_REDIRECT), before
 * URI-encoding. The request goes without a body, so without the failed request's Content-Length: the
 * daemon puts that back for CONTENT_LENGTH.
 */
export function relayText(redirect: ErrorRedirect): string {
  return JSON.stringify([redirect.status, redirect.requestUri, redirect.env, headerValue(redirect.head, "content-length")]);
}

/** Request headers a relayed redirect goes without (proxy.ts): it has no body. */
export function framesBody(lowerName: string): boolean {
  return lowerName === "content-length" || lowerName === "transfer-encoding";
}

/**
 * In a daemon process: the redirect a front relayed with `head` (the request for the script's URL), or
 * null when `text` is not one; its head is what the script runs with. HEAD and the connection's end are
 * the front's business, and a failure of the script gives the first error's page here as in the front.
 */
export function fromRelay(text: string, head: ParsedHead): ErrorRedirect | null {
  const target = parseTarget(head.target);
  let relayed: unknown;
  try {
    relayed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof target === "number" || !Array.isArray(relayed)) return null;
  const [status, requestUri, env, contentLength] = relayed as unknown[];
  if (typeof status !== "number" || typeof requestUri !== "string" || !Array.isArray(env) || !env.every((item) => typeof item === "string")) return null;
  if (contentLength !== null && typeof contentLength !== "string") return null;
  const headers = contentLength === null ? head.headers : [...head.headers, "Content-Length", contentLength];
  return { head: { ...head, headers }, requestUri, target, env: env as string[], isHead: false, closes: false, status, detail: undefined };
}
