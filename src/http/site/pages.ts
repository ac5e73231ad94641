// Responses the server writes itself (errors, redirects, OPTIONS), with Apache's error documents. Such
// responses take only the `Header always` rules, as in Apache.
import { ERROR_PAGE_TYPE, errorPage, type PageDetail } from "../error-page.ts";
import type { HeadEditor } from "../wire/response-writer.ts";
import type { ErrorDetour, ErrorDocuments } from "./error-documents.ts";
import type { RedirectHit } from "./redirects.ts";

/** What a page needs of a response sink: the wire's WireResponse, or fetch-front.ts's. */
export interface PageSink {
  editHead?: HeadEditor | null;
  /** ErrorDocument for the path answered, if any applies there. */
  errorDocuments?: ErrorDocuments | null;
  /** Who else answers this response's errors, asked first (see ErrorDetour). */
  errorDetour?: ErrorDetour | null;
  /** The host's ServerAdmin, which Apache's 500 page names. */
  serverAdmin?: string;
  complete(head: string, body: Uint8Array): void;
}

export function sendPage(response: PageSink, status: number, fields: string[] = [], detail?: PageDetail): void {
  if (status >= 400 && response.errorDetour?.(status, detail)) return;
  const edit = response.editHead;
  if (edit) response.editHead = (head, _error, started) => edit(head, true, started);
  const custom = status >= 400 ? response.errorDocuments?.page(status) : null;
  if (custom) {
    const head = [`${custom.status} ${errorPage(custom.status).reason}`, ...fields, ...custom.fields, "Content-Length", String(custom.body.length)];
    return response.complete(head.join("\0"), custom.body);
  }
  const page = errorPage(status, { serverAdmin: response.serverAdmin, ...detail });
  const head = [`${status} ${page.reason}`, ...fields, "Content-Length", String(page.body.length), "Content-Type", ERROR_PAGE_TYPE];
  response.complete(head.join("\0"), Buffer.from(page.body, "latin1"));
}

/** Control characters (a tab aside): a path's %0d%0a taken into a redirect's query must not end the header. */
const INVALID_IN_HEADER = /[\x00-\x08\x0a-\x1f\x7f]/;

export function sendRedirect(response: PageSink, hit: RedirectHit, log: { error(message: string): void }): void {
  if (hit.location === undefined) return sendPage(response, hit.status);
  if (INVALID_IN_HEADER.test(hit.location)) {
    // As Apache (AH02430): the request ends in a 500 rather than a header the client did not send.
    log.error(`AH02430: Response header 'Location' value of ${JSON.stringify(hit.location)} contains invalid characters, aborting request`);
    return sendPage(response, 500);
  }
  sendPage(response, hit.status, ["Location", hit.location], { location: hit.location });
}
