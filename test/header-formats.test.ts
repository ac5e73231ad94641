// mod_headers' format specifiers in Header and RequestHeader values: %t (when the request was
// received), %D (the time since), %{VAR}e (SetEnv's and SetEnvIf's variables) and %%. The same
// configuration served by Apache + mod_wsgi and by wsgi-bin: times differ, their form must not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture } from "./helpers/server.ts";
import { exchange, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const ask = (port: number, path: string): Promise<WireResponse> =>
  exchange(port, `GET ${path} HTTP/1.1\r\nHost: formats.test\r\nUser-Agent: probe\r\nConnection: close\r\n\r\n`);

describe("Header and RequestHeader format specifiers, through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  beforeAll(async () => {
    both = await startBoth(fixture("site/header-formats.conf"), ["authz_core", "mime", "headers", "env", "setenvif", "wsgi"], { FIXTURES });
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  test("the app's request headers and the response's: the same forms, the same request time in both", async () => {
    for (const server of [both.apache, both.ours]) {
      const r = await ask(server.port, "/app");
      const environ = JSON.parse(r.body.toString()) as Record<string, string>;
      const received = r.header("x-received")!;
      expect(received).toMatch(/^t=\d{16}$/);
      expect(Math.abs(Number(received.slice(2)) / 1000 - Date.now())).toBeLessThan(60_000);
      expect(environ.HTTP_X_REQUEST_START).toBe(received); // one request time for both
      expect(environ.HTTP_X_MIXED).toMatch(/^a D=\d+ b 100% one probe \(null\)$/);
      expect(r.header("x-took")).toMatch(/^x D=\d+ y$/);
      expect(r.header("x-percent")).toBe("50% off");
    }
  });

  test("Header always on the server's own error page: %% is a percent sign there too", async () => {
    const [theirs, mine] = await Promise.all([ask(both.apache.port, "/a/../../x"), ask(both.ours.port, "/a/../../x")]);
    expect(mine.status).toBe(theirs.status);
    expect(mine.header("x-percent")).toBe("50% off");
    expect(theirs.header("x-percent")).toBe("50% off");
  });

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(both.ours.stderr()).not.toContain("warning");
  });
});
