// Apache's error documents, so clients and monitoring see what they would see in front of mod_wsgi.
const MESSAGES: Record<number, [string, string]> = {
  400: ["Bad Request", "Your browser sent a request that this server could not understand."],
  403: ["Forbidden", "You don't have permission to access this resource."],
  404: ["Not Found", "The requested URL was not found on this server."],
  405: ["Method Not Allowed", "The requested method is not allowed for this URL."],
  408: ["Request Timeout", "Server timeout waiting for the HTTP request from the client."],
  413: ["Request Entity Too Large", "The requested resource does not allow request data with this request, or the amount of data provided exceeds the capacity limit."],
  414: ["Request-URI Too Long", "The requested URL's length exceeds the capacity limit for this server."],
  417: ["Expectation Failed", "The expectation given in the Expect request-header field could not be met by this server."],
  431: ["Request Header Fields Too Large", "Your browser sent a request whose header fields exceed this server's limit."],
  500: ["Internal Server Error", "The server encountered an internal error or misconfiguration and was unable to complete your request."],
  501: ["Not Implemented", "The server does not support the action requested by the browser."],
  503: ["Service Unavailable", "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."],
  504: ["Gateway Timeout", "The gateway did not receive a timely response from the upstream server or application."],
  505: ["HTTP Version Not Supported", "The server does not support the HTTP protocol version used in the request."],
};

export interface ErrorPage {
  reason: string;
  body: string;
}

export function errorPage(status: number): ErrorPage {
  const [reason, text] = MESSAGES[status] ?? ["Error", "The server could not complete your request."];
  const body = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${reason}</title>\n` +
    `</head><body>\n<h1>${reason}</h1>\n<p>${text}</p>\n</body></html>\n`;
  return { reason, body };
}

export const ERROR_PAGE_TYPE = "text/html; charset=iso-8859-1";
