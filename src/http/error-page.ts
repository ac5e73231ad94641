// Apache's error documents, so clients and monitoring see what they would see in front of mod_wsgi.
const MESSAGES: Record<number, [string, string]> = {
  400: ["Bad Request", "Your browser sent a request that this server could not understand."],
  404: ["Not Found", "The requested URL was not found on this server."],
  413: ["Request Entity Too Large", "The requested resource does not allow request data with this request, or the amount of data provided exceeds the capacity limit."],
  431: ["Request Header Fields Too Large", "Your browser sent a request whose header fields exceed this server's limit."],
  500: ["Internal Server Error", "The server encountered an internal error or misconfiguration and was unable to complete your request."],
  503: ["Service Unavailable", "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."],
  504: ["Gateway Timeout", "The gateway did not receive a timely response from the upstream server or application."],
};

export function errorResponse(status: number): Response {
  const [title, text] = MESSAGES[status] ?? ["Error", "The server could not complete your request."];
  const body = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${title}</title>\n` +
    `</head><body>\n<h1>${title}</h1>\n<p>${text}</p>\n</body></html>\n`;
  return new Response(body, {
    status,
    statusText: title,
    headers: { "content-type": "text/html; charset=iso-8859-1" },
  });
}
