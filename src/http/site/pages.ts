// Responses the server writes itself (errors, redirects, OPTIONS), with Apache's error documents. Such
// responses take only the `Header always` rules, as in Apache.
import { ERROR_PAGE_TYPE, errorPage, type PageDetail } from "../error-page.ts";
import type { HeadEditor } from "../wire/response-writer.ts";
import type { ErrorDocuments } from "./error-documents.ts";
import type { RedirectHit } from "./redirects.ts";

/** What a page needs of a response sink: the wire's WireResponse, or fetch-front.ts's. */
export interface PageSink {
  editHead?: HeadEditor | null;
  /** ErrorDocument for the path answered, if any applies there. */
  errorDocuments?: ErrorDocuments | null;
  complete(head: string, body: Uint8Array): void;
}

export function sendPage(response: PageSink, status: number, fields: string[] = [], detail?: PageDetail): void {
  const edit = response.editHead;
  if (edit) response.editHead = (head) => edit(head, true);
  const custom = status >= 400 ? response.errorDocuments?.page(status) : null;
  if (custom) {
    const head = [`${custom.status} ${errorPage(custom.status).reason}`, ...fields, ...custom.fields, "Content-Length", String(custom.body.length)];
    return response.complete(head.join("\0"), custom.body);
  }
  const page = errorPage(status, detail);
  const head = [`${status} ${page.reason}`, ...fields, "Content-Length", String(page.body.length), "Content-Type", ERROR_PAGE_TYPE];
  response.complete(head.join("\0"), Buffer.from(page.body, "latin1"));
}

export function sendRedirect(response: PageSink, hit: RedirectHit): void {
  if (hit.location === undefined) sendPage(response, hit.status);
  else sendPage(response, hit.status, ["Location", hit.location], { location: hit.location });
}
