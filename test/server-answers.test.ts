// What the server answers itself, compared with Apache + mod_wsgi on one configuration
// (fixtures/site/server-answers.conf): TRACE as Apache's core answers it (TraceEnable on, off and
// extended), and the head fields a response's server owns: its own Date and Server in place of an
// app's, no Content-Type or Content-Length on a 204 or 304.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, type RunningServer, tempDir } from "./helpers/server.ts";
import { exchange, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const ask = exchange;

const trace = (host: string, path: string, extra = "", body = "") =>
  `TRACE ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Seen: one\r\nAccept: a\r\nx-seen: two\r\n${extra}Connection: close\r\n\r\n${body}`;

/** What both servers must agree on: the status, the fields that are not the server's own, the body. */
function comparable(r: WireResponse) {
  const serverOwn = new Set(["date", "server", "connection", "keep-alive", "transfer-encoding", "content-length"]);
  return { status: r.status, headers: r.headers.filter(([name]) => !serverOwn.has(name)).sort(), body: r.body.toString("latin1") };
}

describe("TRACE and the server's own head fields, through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  const both2 = async (request: string) => Promise.all([ask(apache.port, request), ask(ours.port, request)]);

  beforeAll(async () => {
    const docs = tempDir();
    chmodSync(docs, 0o755); // Apache's children run as www-data
    writeFileSync(join(docs, "file.txt"), "a file\n");
    chmodSync(join(docs, "file.txt"), 0o644);
    both = await startBoth(fixture("site/server-answers.conf"), ["authz_core", "alias", "mime", "wsgi"], { FIXTURES, DOCS: docs });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  for (const path of ["/app/x?y=1", "/d/x", "/file.txt", "/nowhere", "/denied/x"]) {
    test(`TRACE ${path} (TraceEnable on): the request echoed as message/http, whatever the path maps to`, async () => {
      const [theirs, mine] = await both2(trace("on.test", path));
      expect(comparable(mine)).toEqual(comparable(theirs));
      expect(mine.status).toBe(200);
      expect(mine.header("content-type")).toBe("message/http");
      // Apache's headers_in: a repeated name once, at its first place and spelling, its values joined.
      expect(mine.body.toString("latin1")).toBe(`TRACE ${path} HTTP/1.1\r\nHost: on.test\r\nX-Seen: one, two\r\nAccept: a\r\nConnection: close\r\n\r\n`);
    });
  }

  test("TRACE of a path a Redirect maps: the redirect", async () => {
    const [theirs, mine] = await both2(trace("on.test", "/old"));
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(mine.status).toBe(302);
  });

  test("TRACE with a body (TraceEnable on): 413, with Apache's page naming the method", async () => {
    const [theirs, mine] = await both2(trace("on.test", "/app", "Content-Length: 3\r\n", "abc"));
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(mine.status).toBe(413);
    expect(mine.body.toString()).toContain("does not allow request data with TRACE requests");
  });

  test("TraceEnable off: 405 with an empty Allow, the app not called", async () => {
    const [theirs, mine] = await both2(trace("off.test", "/app"));
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(mine.status).toBe(405);
    expect(mine.header("allow")).toBe("");
  });

  for (const [name, extra, body] of [
    ["Content-Length", "Content-Length: 5\r\n", "hello"],
    ["chunked", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"],
  ] as const) {
    test(`TraceEnable extended: a ${name} body is echoed after the head`, async () => {
      const [theirs, mine] = await both2(trace("extended.test", "/app", extra, body));
      expect(comparable(mine)).toEqual(comparable(theirs));
      expect(mine.status).toBe(200);
      expect(mine.body.toString()).toEndWith(name === "chunked" ? "\r\n\r\nabcde" : "\r\n\r\nhello");
    });
  }

  test("TraceEnable extended: a body over 64 KiB is 413", async () => {
    const body = "x".repeat(65537);
    const [theirs, mine] = await both2(trace("extended.test", "/app", `Content-Length: ${body.length}\r\n`, body));
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(mine.status).toBe(413);
  });

  test("OPTIONS and 405 on a static file list TRACE only where it is enabled", async () => {
    const methods = (r: WireResponse) => (r.header("allow") ?? "").split(",").sort(); // Apache's order is a hash's
    for (const [host, method] of [["on.test", "OPTIONS"], ["on.test", "PUT"], ["off.test", "OPTIONS"]]) {
      const [theirs, mine] = await both2(`${method} /file.txt HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect(mine.status).toBe(theirs.status);
      expect(methods(mine)).toEqual(methods(theirs));
    }
  });

  test("OPTIONS * and TRACE *: 200 without Allow, and 400", async () => {
    for (const method of ["OPTIONS", "TRACE"]) {
      const [theirs, mine] = await both2(`${method} * HTTP/1.1\r\nHost: on.test\r\nConnection: close\r\n\r\n`);
      expect(comparable(mine)).toEqual(comparable(theirs));
      expect(mine.status).toBe(method === "OPTIONS" ? 200 : 400);
    }
  });

  test("an app's Date and Server are replaced by the server's own", async () => {
    const request = "GET /app?Date=Mon,+01+Jan+2001+00:00:00+GMT&Server=app/1.0&X-Kept=1 HTTP/1.1\r\nHost: on.test\r\nConnection: close\r\n\r\n";
    const [theirs, mine] = await both2(request);
    for (const r of [theirs, mine]) {
      expect(r.headers.filter(([name]) => name === "date" || name === "server").length).toBe(2);
      expect(Math.abs(Date.parse(r.header("date")!) - Date.now())).toBeLessThan(60_000);
      expect(r.header("server")).not.toBe("app/1.0");
      expect(r.header("x-kept")).toBe("1");
    }
    expect(mine.header("server")).toStartWith("wsgi-bin/");
    // Apache's order: its Date and Server first.
    expect(mine.headers.slice(0, 2).map(([name]) => name)).toEqual(["date", "server"]);
  });

  for (const prefix of ["/app", "/d"]) {
    for (const status of ["204", "304"]) {
      test(`${status} from an app (${prefix}): no Content-Type or Content-Length, the other headers kept`, async () => {
        const query = `status=${status}&Content-Type=text/plain&Content-Length=7&ETag=%22e%22&Cache-Control=max-age%3D5&Content-Language=en`;
        const [theirs, mine] = await both2(`GET ${prefix}?${query} HTTP/1.1\r\nHost: on.test\r\nConnection: close\r\n\r\n`);
        expect(comparable(mine)).toEqual(comparable(theirs));
        expect(mine.header("content-type")).toBeUndefined();
        expect(mine.header("content-length")).toBeUndefined();
        expect(mine.header("etag")).toBe('"e"');
      });
    }
  }

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(ours.stderr()).not.toContain("warning");
  });
});

describe("ServerTokens, through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  beforeAll(async () => {
    both = await startBoth(fixture("site/server-tokens.conf"), ["authz_core", "mime", "wsgi"], { FIXTURES });
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  for (const path of ["/x", "/d/x"]) {
    test(`ServerTokens Prod (${path}): the Server header and SERVER_SOFTWARE name the product, no version`, async () => {
      const request = `GET ${path} HTTP/1.1\r\nHost: tokens.test\r\nConnection: close\r\n\r\n`;
      const [theirs, mine] = await Promise.all([ask(both.apache.port, request), ask(both.ours.port, request)]);
      expect(theirs.header("server")).toBe("Apache");
      expect(JSON.parse(theirs.body.toString()).SERVER_SOFTWARE).toBe("Apache");
      expect(mine.header("server")).toBe("wsgi-bin");
      expect(JSON.parse(mine.body.toString()).SERVER_SOFTWARE).toBe("wsgi-bin");
    });
  }

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(both.ours.stderr()).not.toContain("warning");
  });
});
