// ErrorDocument to a URL a WSGI script serves (Apache's internal redirect, error-redirect.ts), the
// same configuration through Apache + mod_wsgi and through wsgi-bin: the script's status and body
// (what of the environ it was given, test/fixtures/error-document.wsgi), for errors from the mapping
// (404), access (403), Redirect gone (410) and a failed WSGI app (500), a script that fails in turn,
// and what the connection does after each; then with the script in a daemon process group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, tempDir } from "./helpers/server.ts";
import { WireClient, type WireResponse } from "./helpers/wire-client.ts";

const MODULES = ["authz_core", "alias", "env", "mime", "wsgi"];
let both: BothServers;
beforeAll(async () => {
  both = await startBoth(fixture("site/error-document-wsgi.conf"), MODULES, { SITE: site(), FIXTURES });
}, 60_000);
afterAll(async () => {
  await both?.stop();
  cleanupTemps();
});

function site(): string {
  const dir = tempDir("wsgi-bin-errordoc-wsgi-");
  chmodSync(dir, 0o755); // Apache's workers (www-data) look for .htaccess in it
  return dir;
}

/** One request (`extra`: more header lines, then the body) and its response; `keepAlive` leaves out Connection: close. */
async function ask(port: number, method: string, path: string, extra = "", keepAlive = false): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    const [headers, body] = extra.split("\r\n\r\n") as [string, string | undefined];
    await client.send(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Asked: yes\r\n${keepAlive ? "" : "Connection: close\r\n"}${headers ? `${headers}\r\n` : ""}\r\n${body ?? ""}`);
    return await client.response({ head: method === "HEAD" });
  } finally {
    client.close();
  }
}

const comparable = (r: WireResponse) => ({
  status: r.status,
  "content-type": r.header("content-type"),
  "content-length": r.header("content-length"),
  body: r.header("content-type") === "application/json" && r.body.length ? JSON.parse(r.body.toString()) : r.body.toString("latin1"),
});

/** A test per case (method, path, more header lines and the body): wsgi-bin's response as Apache's. */
function compareEach(servers: () => BothServers, cases: [string, string, string][]): void {
  for (const [method, path, extra] of cases) {
    test(`${method} ${path}`, async () => {
      const { apache, ours } = servers();
      const [theirs, mine] = await Promise.all([ask(apache.port, method, path, extra), ask(ours.port, method, path, extra)]);
      expect(comparable(mine)).toEqual(comparable(theirs));
    });
  }
}

describe("ErrorDocument to a WSGI script, through Apache and through wsgi-bin", () => {
  const cases: [string, string, string][] = [
    ["GET", "/nope?q=1", ""], // 404: the script's 200, with REDIRECT_QUERY_STRING and its own QUERY_STRING
    ["POST", "/nope", "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"], // run as a GET, without the body
    ["HEAD", "/nope", ""], // run as a GET, answered without the body
    ["GET", "/private/x", ""], // 403 from Require all denied
    ["GET", "/gone", ""], // 410 from Redirect gone, answered 404 by the script
    ["GET", "/raises?a=b", ""], // 500 from an app that raised
    ["GET", "/broken", ""], // 500, and the script fails too: the first error's page, which says so
    ["GET", "/errdoc/page", ""], // the script asked for itself: no REDIRECT_ variables
  ];
  compareEach(() => both, cases);

  test("the 404's script sees what Apache leaves it", async () => {
    const mine = await ask(both.ours.port, "GET", "/nope?q=1");
    expect(JSON.parse(mine.body.toString())).toMatchObject({
      REDIRECT_STATUS: "404", REDIRECT_URL: "/nope", REDIRECT_QUERY_STRING: "q=1", REDIRECT_REQUEST_METHOD: "GET",
      REQUEST_METHOD: "GET", SCRIPT_NAME: "/errdoc", PATH_INFO: "/page", QUERY_STRING: "from=404", REQUEST_URI: "/nope?q=1",
    });
  });

  test("the failing script's page names its error after the first", async () => {
    const mine = await ask(both.ours.port, "GET", "/broken");
    expect(mine.status).toBe(500);
    expect(mine.body.toString()).toContain("<p>Additionally, a 500 Internal Server Error\nerror was encountered while trying to use an ErrorDocument");
  });

  // The connection after the script's answer: kept for a 404, ended for a 500 (Apache's ap_status_drops_connection).
  for (const path of ["/nope", "/raises"]) {
    test(`keep-alive after ${path}'s error document`, async () => {
      const [theirs, mine] = await Promise.all([ask(both.apache.port, "GET", path, "", true), ask(both.ours.port, "GET", path, "", true)]);
      expect(mine.header("connection")).toBe(theirs.header("connection"));
      expect(mine.status).toBe(theirs.status);
    });
  }

  test("the server keeps serving, and logged the scripts' and the apps' failures", async () => {
    const again = await ask(both.ours.port, "GET", "/errdoc/status/201");
    expect(again.status).toBe(201);
    expect(both.ours.stderr()).toContain("the error document fails");
  });
});

describe("ErrorDocument to a WSGI script in a daemon process group, through Apache and through wsgi-bin", () => {
  let daemon: BothServers;
  beforeAll(async () => {
    daemon = await startBoth(fixture("site/error-document-wsgi-daemon.conf"), MODULES, { SITE: site(), FIXTURES });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
  });

  const cases: [string, string, string][] = [
    ["GET", "/nope?q=1", ""],
    ["POST", "/nope", "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"],
    ["HEAD", "/nope", ""],
    ["GET", "/raises?a=b", ""], // the app fails in the front process, its ErrorDocument runs in the daemon
  ];
  compareEach(() => daemon, cases);

  // Apache's daemon mode takes the daemon's 500 for a new error of the ErrorDocument's own URL and
  // redirects again (to that URL's ErrorDocument 500); wsgi-bin answers as in embedded mode.
  test("GET /broken: the script fails in the daemon, and the answer is the first error's page", async () => {
    const mine = await ask(daemon.ours.port, "GET", "/broken");
    expect(mine.status).toBe(500);
    expect(mine.body.toString()).toContain("<p>Additionally, a 500 Internal Server Error\nerror was encountered while trying to use an ErrorDocument");
  });

  test("the daemon's script sees the failed request", async () => {
    const mine = await ask(daemon.ours.port, "GET", "/nope?q=1");
    expect(JSON.parse(mine.body.toString())).toMatchObject({
      REDIRECT_STATUS: "404", REDIRECT_QUERY_STRING: "q=1", REQUEST_URI: "/nope?q=1", "mod_wsgi.process_group": "errdocs",
    });
  });
});
