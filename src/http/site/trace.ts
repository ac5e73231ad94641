// TRACE, answered by the server as Apache's core answers it (ap_send_http_trace, a map_to_storage
// hook): after mod_alias's and mod_rewrite's redirects, before access control and before any handler,
// so a WSGI app never sees a TRACE. TraceEnable: on (the default) echoes a request without a body,
// off refuses every TRACE (405), extended also echoes a body of up to 64 KiB.
import type { ParsedHead } from "../wire/head-parser.ts";
import { BodyProblem } from "../wire/request-body.ts";
import type { BodySource } from "../wsgi-exchange.ts";
import { type PageSink, sendPage } from "./pages.ts";

export type TraceEnable = "on" | "off" | "extended";

/** Apache's limit on an extended TRACE's body. */
const EXTENDED_MOST = 65536;

export async function answerTrace(head: ParsedHead, body: BodySource, response: PageSink, mode: TraceEnable): Promise<void> {
  // Apache's 405 names no method in Allow here: TRACE is refused before any handler would list them.
  if (mode === "off") return sendPage(response, 405, ["Allow", ""], { method: head.method });
  const hasBody = head.chunked || head.contentLength > 0;
  if (hasBody && (mode === "on" || head.contentLength > EXTENDED_MOST)) return sendPage(response, 413, [], { method: head.method });
  const echoed = hasBody ? await readBody(body) : EMPTY;
  if (typeof echoed === "number") return sendPage(response, echoed, [], { method: head.method });
  const text = `${head.method} ${head.target} ${head.protocol}\r\n${mergedHeaders(head.headers)}\r\n`;
  const out = Buffer.allocUnsafe(text.length + echoed.length);
  out.write(text, 0, "latin1");
  out.set(echoed, text.length);
  response.editHead = null; // Apache's TRACE skips the filters that would apply Header rules to it
  response.complete(`200 OK\0Content-Type\0message/http\0Content-Length\0${out.length}`, out);
}

const EMPTY = new Uint8Array(0);

/** An extended TRACE's body (chunked framing removed), or the status to answer: 413 past 64 KiB, 400 when it broke off. */
async function readBody(body: BodySource): Promise<Uint8Array | number> {
  const into = new Uint8Array(EXTENDED_MOST + 1);
  let length = 0;
  for (;;) {
    const count = await body.readInto(into.subarray(length));
    if (count === null) return into.subarray(0, length);
    if (count === BodyProblem.TooLarge) return 413;
    if (count < 0) return 400;
    length += count;
    if (length > EXTENDED_MOST) return 413;
  }
}

/**
 * The request's header lines, each name once as Apache's headers_in holds them (apr_table_compress):
 * at its first place and in its first spelling, the values of a repeated name joined by ", ".
 */
function mergedHeaders(headers: string[]): string {
  const merged = new Map<string, [string, string]>();
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const key = headers[i]!.toLowerCase();
    const known = merged.get(key);
    if (known) known[1] += `, ${headers[i + 1]}`;
    else merged.set(key, [headers[i]!, headers[i + 1]!]);
  }
  let text = "";
  for (const [name, value] of merged.values()) text += `${name}: ${value}\r\n`;
  return text;
}
