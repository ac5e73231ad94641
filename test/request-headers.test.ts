// mod_headers beyond Header set: RequestHeader (the headers the app sees) and Header edit/edit* (the
// response's), the same configuration served by Apache + mod_wsgi and by wsgi-bin, compared request
// by request, embedded and in a daemon group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, type RunningServer } from "./helpers/server.ts";
import { WireClient, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const CONFIG = fixture("site/request-headers.conf");

async function ask(port: number, path: string, headers: [string, string][]): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    const lines = [["Host", "rh.test"], ...headers, ["Connection", "close"]].map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await client.send(`GET ${path} HTTP/1.1\r\n${lines}\r\n`);
    return await client.response();
  } finally {
    client.close();
  }
}

/** The request headers the app saw (HTTP_X_*), and the response headers the rules edit. */
function comparable(r: WireResponse) {
  const environ = JSON.parse(r.body.toString("utf8")) as Record<string, string>;
  const seen = Object.fromEntries(Object.entries(environ).filter(([key]) => key.startsWith("HTTP_X_") || key === "HTTP_PROXY"));
  const sent = r.headers.filter(([name]) => ["set-cookie", "x-resp", "x-first"].includes(name));
  return { status: r.status, seen, sent };
}

const REQUEST: [string, string][] = [
  ["Proxy", "http://evil.example"], ["X-Remove", "r"], ["X-Added", "zero"], ["X-Appended", "one"], ["X-Merged", "m0, m1"],
  ["X-Empty", ""], ["X-Edit", "abc"], ["X-Edit-All", "foo boo"], ["X-Kept", "k"],
];
// Response headers the app sends (headers.wsgi takes them from the query string).
const RESPONSE = "?Set-Cookie=a%3D1&Set-Cookie=b%3D2&X-Resp=foo+boo&X-First=abbcbb";

describe("RequestHeader and Header edit through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    both = await startBoth(CONFIG, ["authz_core", "mime", "headers", "wsgi"], { FIXTURES });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  for (const path of ["/x", "/loc/y", "/d/z", "/d/loc/w"]) {
    test(`GET ${path}: the headers the app sees and the ones the client gets`, async () => {
      const [theirs, mine] = await Promise.all([ask(apache.port, path + RESPONSE, REQUEST), ask(ours.port, path + RESPONSE, REQUEST)]);
      expect(comparable(mine)).toEqual(comparable(theirs));
      expect(comparable(mine).seen).toMatchObject({ HTTP_X_FORWARDED_PROTO: "https", HTTP_X_EDIT: "bbc", HTTP_X_ADDED: "one" });
    });
  }

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(ours.stderr()).not.toContain("warning");
  });
});
