// LimitRequestBody as Apache applies it, where the request is routed: a <Location>'s over the
// server's, 0 for none; a declared length over it is 413 before the app runs, a chunked body that
// crosses it is 413 once it does. The same configuration served by Apache + mod_wsgi and by
// wsgi-bin, embedded and in a daemon group, compared request by request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture } from "./helpers/server.ts";
import { exchange, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

async function post(port: number, path: string, size: number, chunked: boolean): Promise<WireResponse> {
  const body = "x".repeat(size);
  const framing = chunked ? `Transfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n${body}\r\n0\r\n\r\n` : `Content-Length: ${size}\r\n\r\n${body}`;
  return exchange(port, `POST ${path} HTTP/1.1\r\nHost: limits.test\r\nConnection: close\r\n${framing}`);
}

describe("LimitRequestBody per route, through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  beforeAll(async () => {
    both = await startBoth(fixture("site/limit-request-body.conf"), ["authz_core", "mime", "wsgi"], { FIXTURES });
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  // [path, body size, the status both give]
  const cases: [string, number, number][] = [
    ["/small/x", 5, 200], ["/small/x", 20, 413], ["/x", 20, 200], ["/x", 150, 413], ["/unlimited/x", 150, 200],
    ["/d/small/x", 5, 200], ["/d/small/x", 20, 413], ["/d/x", 20, 200], ["/d/x", 150, 413],
  ];
  for (const chunked of [false, true]) {
    for (const [path, size, status] of cases) {
      test(`POST ${path}, ${size} bytes ${chunked ? "chunked" : "with Content-Length"}: ${status}`, async () => {
        const [theirs, mine] = await Promise.all([post(both.apache.port, path, size, chunked), post(both.ours.port, path, size, chunked)]);
        expect(theirs.status).toBe(status);
        expect(mine.status).toBe(status);
        if (status === 200) expect(mine.body.toString()).toBe(theirs.body.toString());
      });
    }
  }

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(both.ours.stderr()).not.toContain("warning");
  });
});
