// Apache's error documents (as Apache 2.4.71 words them), so clients and monitoring see what they
// would see in front of mod_wsgi: the server's own errors, and mod_alias's and mod_dir's redirects.
const MESSAGES: Record<number, [string, string]> = {
  301: ["Moved Permanently", ""],
  302: ["Found", ""],
  303: ["See Other", ""],
  307: ["Temporary Redirect", ""],
  308: ["Permanent Redirect", ""],
  400: ["Bad Request", "Your browser sent a request that this server could not understand.<br />\n"],
  401: ["Unauthorized", "This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required."],
  403: ["Forbidden", "You don't have permission to access this resource."],
  404: ["Not Found", "The requested URL was not found on this server."],
  405: ["Method Not Allowed", ""],
  408: ["Request Timeout", "Server timeout waiting for the HTTP request from the client."],
  410: ["Gone", "The requested resource is no longer available on this server and there is no forwarding address.\nPlease remove all references to this resource."],
  411: ["Length Required", ""],
  412: ["Precondition Failed", "The precondition on the request for this URL evaluated to false."],
  413: ["Request Entity Too Large", ""],
  414: ["Request-URI Too Long", "The requested URL's length exceeds the capacity limit for this server."],
  416: ["Requested Range Not Satisfiable", "None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource."],
  417: ["Expectation Failed", "The expectation given in the Expect request-header field could not be met by this server."],
  421: ["Misdirected Request", "The client needs a new connection for this\nrequest as the requested host name does not match\nthe Server Name Indication (SNI) in use for this\nconnection."],
  431: ["Request Header Fields Too Large", "Your browser sent a request whose header fields exceed this server's limit."],
  500: ["Internal Server Error", ""],
  501: ["Not Implemented", "The server does not support the action requested by the browser."],
  503: ["Service Unavailable", "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."],
  504: ["Gateway Timeout", "The gateway did not receive a timely response from the upstream server or application."],
  505: ["HTTP Version Not Supported", "The server does not support the HTTP protocol version used in the request."],
};

export interface ErrorPage {
  reason: string;
  body: string;
}

/** What some pages name: a redirect's target (already URL-escaped), the method refused, the host's ServerAdmin (500). */
export interface PageDetail {
  location?: string;
  method?: string;
  serverAdmin?: string;
  /** Apache's error-notes, which a 403 page adds to its text (HTML, written by the server). */
  notes?: string;
  /** The status a WSGI script serving this error's ErrorDocument failed with in turn (Apache's recursive_error). */
  additionally?: number;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function message(status: number, text: string, detail: PageDetail | undefined): string {
  const location = escapeHtml(detail?.location ?? "");
  if (status === 303) return `The answer to your request is located <a href="${location}">here</a>.`;
  if (status >= 300 && status < 400) return `The document has moved <a href="${location}">here</a>.`;
  if (status === 411) return `A request of the requested method ${escapeHtml(detail?.method ?? "")} requires a valid Content-length.<br />\n`;
  if (status === 405) return `The requested method ${escapeHtml(detail?.method ?? "")} is not allowed for this URL.`;
  if (status === 403 && detail?.notes) return text + detail.notes;
  return text;
}

/** The page's text below its heading: in a paragraph, but for 413, whose text Apache writes bare. */
function paragraph(status: number, text: string, detail: PageDetail | undefined): string {
  if (status === 500) {
    return "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n" +
      `<p>Please contact the server administrator at \n ${escapeHtml(detail?.serverAdmin ?? "[no address given]")} to inform them of the time this error occurred,\n` +
      " and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n";
  }
  if (status === 413) {
    return `The requested resource does not allow request data with ${escapeHtml(detail?.method ?? "")} requests, or the amount of data provided in\n` +
      "the request exceeds the capacity limit.\n";
  }
  return `<p>${message(status, text, detail)}</p>\n`;
}

/** ap_die's note when the ErrorDocument of an error failed too: the page is the first error's, with this. */
function additionally(status: number | undefined): string {
  if (status === undefined) return "";
  const reason = MESSAGES[status]?.[0] ?? "Error";
  return `<p>Additionally, a ${status} ${reason}\nerror was encountered while trying to use an ErrorDocument to handle the request.</p>\n`;
}

export function errorPage(status: number, detail?: PageDetail): ErrorPage {
  const [reason, text] = MESSAGES[status] ?? ["Error", "The server could not complete your request."];
  const body = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n<html><head>\n<title>${status} ${reason}</title>\n` +
    `</head><body>\n<h1>${reason}</h1>\n${paragraph(status, text, detail)}${additionally(detail?.additionally)}</body></html>\n`;
  return { reason, body };
}

export const ERROR_PAGE_TYPE = "text/html; charset=iso-8859-1";
