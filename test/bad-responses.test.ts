// Responses an app must not be allowed to send: str chunks, a malformed status, CR/LF in headers.
// Each gives a clean 500 and a log line, never a malformed response.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, get, rawRequest, start, type RunningServer } from "./helpers/server.ts";

describe("bad responses", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/bad=${fixture("bad-response.wsgi")}`, "--alias", `/hello=${fixture("hello.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  /** The raw response, checked to be one well-formed HTTP/1.1 500 with no injected header. */
  async function expectClean500(path: string): Promise<void> {
    const raw = (await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)).toString("latin1");
    const headEnd = raw.indexOf("\r\n\r\n");
    expect(headEnd).toBeGreaterThan(0);
    const head = raw.slice(0, headEnd).split("\r\n");
    expect(head[0]).toMatch(/^HTTP\/1\.1 500 /);
    for (const line of head.slice(1)) expect(line).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\r\n]*$/);
    expect(raw).not.toMatch(/X-Injected/i);
    // One response only: nothing after the declared body.
    const length = head.find((l) => /^content-length:/i.test(l));
    if (length) expect(raw.length - headEnd - 4).toBe(Number(length.split(":")[1]));
  }

  const cases: [string, RegExp][] = [
    ["str-chunks", /TypeError: a WSGI body chunk must be bytes, not str/],
    ["str-generator", /TypeError: a WSGI body chunk must be bytes, not str/],
    ["bad-status", /invalid WSGI status 'OK'/],
    ["status-crlf", /invalid WSGI status/],
    ["header-crlf", /control character in its value/],
    ["header-lf-name", /invalid response header name/],
    // A regex's `$` also matches before a final newline: these went out raw once.
    ["status-lf-end", /invalid WSGI status '200 OK\\n'/],
    ["status-nul", /invalid WSGI status/],
    // Sent as it was, the client took it for an interim response and waited for the real one.
    ["status-interim", /WSGI status '100 CONTINUE' is interim \(1xx\): a response needs a final status/],
    ["header-lf-name-end", /invalid response header name 'X-Evil\\n'/],
    ["hop-by-hop", /hop-by-hop header 'Connection' is the server's to set/],
    ["transfer-encoding", /hop-by-hop header 'Transfer-Encoding' is the server's to set/],
  ];
  for (const [what, logged] of cases) {
    test(`${what}: 500 and a log line`, async () => {
      const mark = server.log().length;
      const r = await get(`${server.url}/bad/${what}`);
      expect(r.status).toBe(500);
      expect(r.headers.get("x-injected")).toBeNull();
      await expectClean500(`/bad/${what}`);
      const log = await server.waitForLog(logged, 5000, mark);
      expect(log).toContain(`Exception occurred processing WSGI script '${fixture("bad-response.wsgi")}'`);
    });
  }

  test("the control case is fine, and the server still serves after all of them", async () => {
    expect(await get(`${server.url}/bad/fine`)).toMatchObject({ status: 200, text: "fine" });
    expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
  });
});
