// mod_authz_core's authorization containers, <RequireAll>, <RequireAny> and <RequireNone>, and
// `Require not`: compared with Apache on one configuration (fixtures/site/require-sections.conf), from
// two client addresses (127.0.0.1 and 127.0.0.2), with and without credentials: the status, the
// page and the error log's lines. And the configurations httpd refuses to start with, refused alike.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, run, tempDir } from "./helpers/server.ts";
import { exchange, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const USERS = [
  "alice:$apr1$x3umInwA$q40wbaaAN0E1e5cuGkmSl1", // wonder
  "bob:$2y$05$Tm4fx2FQvV8yNoYvT8xF8.pv2Hjxgry013/uvEbbLtzlWOXedl5bC", // builder
  "erin:$6$iKiL2K7utz9txe6W$4QGicFMDYGZT0hxKsBSgzLYV4.gbjAvL4JD5dg1EQiFijY4p9RZDEWIeJCLnhL8rGGTb18SpkaIcZ4LdV9BVh.", // sha512pw
  "",
].join("\n");
const GROUPS = "staff: bob erin\nother: alice\n";
const ALICE = "alice:wonder";
const BOB = "bob:builder";
const ERIN = "erin:sha512pw";

const CASES: [path: string, from: "127.0.0.1" | "127.0.0.2", credentials: string | null, what: string][] = [
  ["/blocked", "127.0.0.1", null, "all granted but not this address: 403"],
  ["/blocked", "127.0.0.2", null, "all granted but not another address: 200"],
  ["/none", "127.0.0.1", null, "<RequireNone> naming other addresses: 200"],
  ["/none", "127.0.0.2", null, "<RequireNone> naming this address: 403"],
  ["/any", "127.0.0.1", null, "<RequireAny> of other addresses: 403"],
  ["/any", "127.0.0.2", null, "<RequireAny> with this address: 200"],
  ["/nested", "127.0.0.1", null, "<RequireAny> inside <RequireAll>: granted"],
  ["/nested", "127.0.0.2", null, "<RequireAny> inside <RequireAll>, then denied by Require not: 403"],
  ["/not-alice", "127.0.0.1", null, "valid-user but not alice, no credentials: 401"],
  ["/not-alice", "127.0.0.1", BOB, "valid-user but not alice: bob gets in"],
  ["/not-alice", "127.0.0.1", ALICE, "valid-user but not alice: alice, 401"],
  ["/ip-and-user", "127.0.0.1", null, "this address and a user, no credentials: 401"],
  ["/ip-and-user", "127.0.0.1", ALICE, "this address and a user: alice gets in"],
  ["/ip-and-user", "127.0.0.2", null, "another address: 403 before any authentication"],
  ["/ip-and-user", "127.0.0.2", ALICE, "another address, with credentials: still 403"],
  ["/other-or-staff", "127.0.0.2", null, "the address that needs no user: 200"],
  ["/other-or-staff", "127.0.0.1", null, "elsewhere, no credentials: 401"],
  ["/other-or-staff", "127.0.0.1", BOB, "staff, not erin: bob gets in"],
  ["/other-or-staff", "127.0.0.1", ERIN, "staff, but erin: 401"],
  ["/other-or-staff", "127.0.0.1", ALICE, "not staff: 401"],
  ["/user-or-remote", "127.0.0.1", null, "not local is false here, so a user is needed: 401"],
  ["/user-or-remote", "127.0.0.2", ALICE, "any user gets in"],
];

const request = (path: string, credentials: string | null) =>
  `GET ${path} HTTP/1.1\r\nHost: authz.test\r\n${credentials === null ? "" : `Authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`}Connection: close\r\n\r\n`;

/** What both servers must agree on: the status, the fields that are not the server's own, the body. */
function comparable(r: WireResponse) {
  const serverOwn = new Set(["date", "server", "connection", "keep-alive", "transfer-encoding", "content-length"]);
  return { status: r.status, headers: r.headers.filter(([name]) => !serverOwn.has(name)).sort(), body: r.body.toString("utf8") };
}

/** An error log's access lines (AH01630, AH01631...), without the time, module, pid and the client's port. */
const clientLines = (log: string) => log.split("\n").filter((line) => line.includes("[client ") && / AH0\d{4}: /.test(line))
  .map((line) => line.replace(/^\[[^\]]*\] \[[^\]]*\] \[pid [^\]]*\] /, "").replace(/\[client (127\.0\.0\.\d):\d+\]/, "[client $1]"));

describe("authorization containers through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  const answers = new Map<string, [WireResponse, WireResponse]>();
  let logs: [string[], string[]];

  beforeAll(async () => {
    const auth = tempDir();
    chmodSync(auth, 0o755);
    for (const [name, text] of [["users", USERS], ["groups", GROUPS]]) {
      writeFileSync(join(auth, name!), text!);
      chmodSync(join(auth, name!), 0o644);
    }
    const modules = ["authz_core", "authz_host", "authz_user", "authz_groupfile", "auth_basic", "authn_core", "authn_file", "alias", "mime", "wsgi"];
    both = await startBoth(fixture("site/require-sections.conf"), modules, { FIXTURES, AUTH: auth });
    for (const [path, from, credentials] of CASES) {
      const raw = request(path, credentials);
      answers.set(`${path} ${from} ${credentials}`, [await exchange(both.apache.port, raw, from), await exchange(both.ours.port, raw, from)]);
    }
    await Bun.sleep(200); // the last lines written
    logs = [clientLines(both.apache.errorLog()), clientLines(both.ours.log())];
  }, 90_000);
  afterAll(() => both?.stop(), 30_000);

  for (const [path, from, credentials, what] of CASES) {
    test(`${path} from ${from}${credentials ? ` as ${credentials.split(":")[0]}` : ""}: ${what}`, () => {
      const [theirs, mine] = answers.get(`${path} ${from} ${credentials}`)!;
      expect(comparable(mine)).toEqual(comparable(theirs));
      expect(mine.status).toBe(Number(what.match(/\b(40[13])\b/)?.[1] ?? 200));
    });
  }

  test("the error log says why, line for line, as Apache's does", () => {
    const [theirs, mine] = logs;
    expect(theirs.length).toBeGreaterThan(5);
    expect(mine).toEqual(theirs);
  });
});

describe("configurations httpd refuses, refused alike", () => {
  const REFUSED: [body: string, message: string][] = [
    ["Require not ip 10.0.0.1", "negative Require directive has no effect in <RequireAny> directive"],
    ["<RequireAny>\nRequire all granted\nRequire not ip 10.0.0.1\n</RequireAny>", "negative Require directive has no effect in <RequireAny> directive"],
    ["<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>", "<RequireNone> directive has no effect in <RequireAny> directive"],
    ["<RequireAll>\nRequire all granted\n<RequireNone>\n<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>\n</RequireNone>\n</RequireAll>",
      "<RequireNone> directive has no effect in <RequireNone> directive"],
    ["<RequireAll>\n</RequireAll>", "<RequireAll> directive contains no authorization directives"],
    ["<RequireAll>\nRequire not ip 10.0.0.1\n</RequireAll>", "<RequireAll> directive contains only negative authorization directives"],
    ["<RequireAll>\n<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>\n</RequireAll>", "<RequireAll> directive contains only negative authorization directives"],
    ["<RequireAll x>\nRequire all granted\n</RequireAll>", "<RequireAll> directive doesn't take additional arguments"],
  ];
  for (const [body, message] of REFUSED) {
    test(message, async () => {
      const dir = tempDir();
      const config = join(dir, "site.conf");
      writeFileSync(config, `Listen 127.0.0.1:18999\n<Location /a>\n${body}\n</Location>\n`);
      const result = await run(["--config", config, "--check-config"]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
    });
  }

  test("Require not with a provider wsgi-bin cannot evaluate refuses everyone there, and says so", async () => {
    const dir = tempDir();
    const config = join(dir, "site.conf");
    writeFileSync(config, "Listen 127.0.0.1:18999\n<Location /a>\n<RequireAll>\nRequire all granted\nRequire not host example.com\n</RequireAll>\n</Location>\n");
    const result = await run(["--config", config, "--check-config"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("Require not host example.com is not implemented by wsgi-bin: it refuses everyone here");
  });
});
