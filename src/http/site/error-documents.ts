// ErrorDocument (Apache's core): the server's own error responses (404 and 403 from the mapping, 500
// and 503 from a WSGI app that failed or could not run, 410 from Redirect gone...) replaced by a text,
// by a redirect to another server, by a local file served with the error's status, or by the WSGI
// script a local URL maps to (Apache's internal redirect: app.ts runs it, see scriptDocument). As
// Apache decides: a document with a space is a text, one starting with "/" a local URL, a URL a redirect.
import { readFileSync } from "node:fs";
import { ERROR_PAGE_TYPE, errorPage, type PageDetail } from "../error-page.ts";
import { contentType } from "./mime-types.ts";

/**
 * Answers an error the server would answer with its own page: the WSGI script an ErrorDocument names
 * (app.ts), or, within that script's request, the first error's page. True when it took the error:
 * the caller writes nothing then.
 */
export type ErrorDetour = (status: number, detail?: PageDetail) => boolean;

/** A document that is a local URL (no space, as a text has; a leading "/"): a file or a WSGI script serves it. */
export function isLocalUrl(document: string): boolean {
  return document.startsWith("/") && !document.includes(" ");
}

export interface CustomPage {
  /** The error's status, or 302 for a redirect. */
  status: number;
  /** Header fields as name, value... (Content-Type, Location). */
  fields: string[];
  body: Uint8Array;
}

export class ErrorDocuments {
  constructor(
    private readonly documents: Record<number, string>,
    /** The file a local URL maps to on this host, or null. */
    private readonly localFile: (path: string) => string | null,
    /** Whether a local URL maps to a WSGI script on this host. */
    private readonly isScript: (path: string) => boolean,
  ) {}

  /** The local URL (with its query) an error `status` is handed to because a WSGI script serves it, or null. */
  scriptDocument(status: number): string | null {
    const document = this.documents[status];
    return document !== undefined && isLocalUrl(document) && this.isScript(document.split("?")[0]!) ? document : null;
  }

  /** What ErrorDocument makes of an error `status`, or null: the server's own page (none given, `default`, a local file missing). */
  page(status: number): CustomPage | null {
    const document = this.documents[status];
    if (document === undefined || document.toLowerCase() === "default") return null;
    if (isLocalUrl(document)) {
      const file = this.localFile(document.split("?")[0]!);
      if (file === null) return null;
      try {
        const type = contentType(file);
        return { status, fields: type ? ["Content-Type", type] : [], body: readFileSync(file) };
      } catch {
        return null; // missing, a directory, unreadable: Apache's own page
      }
    }
    // A full URL: a redirect there (never for 401, as Apache: the client must see the challenge).
    if (!document.includes(" ") && /^[a-z][a-z0-9+.-]*:\/\//i.test(document) && status !== 401) {
      return { status: 302, fields: ["Location", document, "Content-Type", ERROR_PAGE_TYPE], body: Buffer.from(errorPage(302, { location: document }).body, "latin1") };
    }
    return { status, fields: ["Content-Type", ERROR_PAGE_TYPE], body: Buffer.from(document, "latin1") };
  }
}
