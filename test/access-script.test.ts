// WSGIAccessScript, the same configuration through Apache + mod_wsgi and through wsgi-bin
// (test/fixtures/site/access-script.conf): allow_access's True and None leave the request to the
// Require rules, False, an exception and an answer that is neither refuse it (403), on a WSGI route, on
// static files and on a route in a daemon process group; what the script is given; the log lines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, tempDir } from "./helpers/server.ts";

let both: BothServers;
let seen: string;
beforeAll(async () => {
  const site = tempDir("wsgi-bin-access-site-");
  mkdirSync(join(site, "files"));
  writeFileSync(join(site, "files/a.txt"), "a file\n");
  for (const dir of [site, join(site, "files")]) chmodSync(dir, 0o755);
  seen = tempDir("wsgi-bin-access-seen-");
  chmodSync(seen, 0o777); // Apache's workers (www-data) write there
  both = await startBoth(fixture("site/access-script.conf"), ["authz_core", "alias", "mime", "wsgi"], { SITE: site, FIXTURES, ACCESS_SEEN: seen });
}, 60_000);
afterAll(async () => {
  await both?.stop();
  cleanupTemps();
});

async function statusOf(port: number, path: string): Promise<[number, string]> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return [response.status, response.status === 200 ? await response.text() : ""];
}

describe("WSGIAccessScript through Apache and through wsgi-bin", () => {
  const paths = [
    "/hello/x?yes", "/hello/x?no", "/hello/x?none", "/hello/x?raise", "/hello/x?str",
    "/shut/x?yes", "/shut/x?none", // the script lets them through, Require all denied does not
    "/files/a.txt?yes", "/files/a.txt?no", "/files/a.txt?raise",
    "/daemon/x?yes", "/daemon/x?no", "/daemon/x?raise",
  ];
  for (const path of paths) {
    test(path, async () => {
      const [theirs, mine] = await Promise.all([statusOf(both.apache.port, path), statusOf(both.ours.port, path)]);
      expect(mine).toEqual(theirs);
    });
  }

  test("the script gets the client's address and the environ mod_wsgi gives it", () => {
    const lines = (port: number) => {
      const file = join(seen, `seen-${port}.json`);
      return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line)) : [];
    };
    const [theirs, mine] = [lines(both.apache.port), lines(both.ours.port)];
    expect(mine.length).toBe(paths.length);
    expect(mine).toEqual(theirs);
    expect(mine[0]).toMatchObject({ host: "127.0.0.1", SCRIPT_NAME: "/hello", PATH_INFO: "/x", group: "" });
  });

  test("the refusals are logged as mod_wsgi logs them", () => {
    const hello = join(FIXTURES, "hello.wsgi");
    for (const log of [both.apache.errorLog(), both.ours.log()]) {
      expect(log).toContain(`Client denied by server configuration: '${hello}'.`);
      expect(log).toContain("RuntimeError: the access script fails");
      expect(log).toContain(`Indicator of host accessibility returned from '${join(FIXTURES, "access.wsgi")}' must a boolean or None.`);
    }
  });
});
