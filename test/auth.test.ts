// HTTP Basic authentication (AuthType Basic, AuthUserFile, AuthGroupFile, Require valid-user|user|
// group), compared with Apache + mod_wsgi on one configuration (fixtures/site/auth.conf): the status,
// WWW-Authenticate and page of each answer, what the app sees (REMOTE_USER, AUTH_TYPE, the
// Authorization header only with WSGIPassAuthorization), the error log's lines and the access log's
// user, embedded and in a daemon process group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, run, type RunningServer, sleep, start, tempDir } from "./helpers/server.ts";
import { exchange, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

/** htpasswd's formats: -m (apr1, Debian's default), -B (bcrypt), -s (SHA-1), -d (crypt), -5 (SHA-512 crypt). */
const USERS = [
  "# written by htpasswd",
  "alice:$apr1$x3umInwA$q40wbaaAN0E1e5cuGkmSl1", // wonder
  "bob:$2y$05$Tm4fx2FQvV8yNoYvT8xF8.pv2Hjxgry013/uvEbbLtzlWOXedl5bC", // builder
  "carol:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=", // sha
  "dave:pSebgmkFQAQx.", // des123
  "erin:$6$iKiL2K7utz9txe6W$4QGicFMDYGZT0hxKsBSgzLYV4.gbjAvL4JD5dg1EQiFijY4p9RZDEWIeJCLnhL8rGGTb18SpkaIcZ4LdV9BVh.", // sha512pw
  "jürgen:$2y$05$pOZ6fSObPcA0zep9I894T.SOS7pZLYfbxVqNDi/ZvQL0wfRfdJZeO", // pässwörd
  "",
].join("\n");
const GROUPS = "staff: bob carol\nother: alice\nstaff: erin\n";

/** A directory Apache's children (www-data) can read, holding `users` and, if given, `groups`. */
function authDirectory(groups?: string): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  for (const [name, text] of [["users", USERS], ["groups", groups]] as const) {
    if (text === undefined) continue;
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o644);
  }
  return dir;
}

/** Each raw request to Apache then to wsgi-bin, one at a time, in order (so both logs' lines come in the same order). */
async function askBoth(apache: RunningApache, ours: RunningServer, requests: [key: string, raw: string][]): Promise<Map<string, [WireResponse, WireResponse]>> {
  const answers = new Map<string, [WireResponse, WireResponse]>();
  for (const [key, raw] of requests) answers.set(key, [await exchange(apache.port, raw), await exchange(ours.port, raw)]);
  return answers;
}

const basic = (credentials: string) => `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;

const request = (path: string, authorization?: string, host = "auth.test", extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}${authorization === undefined ? "" : `Authorization: ${authorization}\r\n`}Connection: close\r\n\r\n`;

/** What both servers must agree on: the status, the fields that are not the server's own, the body. */
function comparable(r: WireResponse) {
  const serverOwn = new Set(["date", "server", "connection", "keep-alive", "transfer-encoding", "content-length"]);
  return { status: r.status, headers: r.headers.filter(([name]) => !serverOwn.has(name)).sort(), body: r.body.toString("utf8") };
}

/** An error log's messages, without the time, module and pid Apache's and ours write differently. */
const messages = (log: string) => log.split("\n").map((line) => line.replace(/^\[[^\]]*\] \[[^\]]*\] \[pid [^\]]*\] /, ""));

/** A client's log lines, its port taken out (each server saw its own connection). */
const linesOf = (log: string, needle: string) =>
  messages(log).filter((line) => line.includes(needle)).map((line) => line.replace(/\[client 127\.0\.0\.1:\d+\]/, "[client]"));

const CASES: [path: string, authorization: string | undefined, what: string][] = [
  ["/open", undefined, "no Require: open, no user"],
  ["/open", basic("alice:wonder"), "no Require: credentials are not checked, no user"],
  ["/private", undefined, "valid-user without credentials: 401 naming the realm"],
  ["/private", basic("alice:wonder"), "valid-user, apr1 MD5"],
  ["/private", basic("bob:builder"), "valid-user, bcrypt"],
  ["/private", basic("carol:sha"), "valid-user, SHA-1"],
  ["/private", basic("dave:des123"), "valid-user, crypt"],
  ["/private", basic("erin:sha512pw"), "valid-user, SHA-512 crypt"],
  ["/private", basic("jürgen:pässwörd"), "valid-user, a UTF-8 name and password"],
  ["/private/sub/x?q=1", basic("alice:wonder"), "a path below the Location"],
  ["/private", basic("alice:bad"), "a wrong password"],
  ["/private", basic("nobody:x"), "an unknown user"],
  ["/private", basic("alice"), "no colon: an empty password"],
  ["/private", `Basic ${Buffer.from('a\nb\u0001"c:x', "latin1").toString("base64")}`, "a user named with control characters: escaped in the log line"],
  ["/private", "Bearer abc", "another scheme"],
  ["/private", "Basic !!!", "credentials that do not decode"],
  ["/alice", basic("alice:wonder"), "Require user: the user named"],
  ["/alice", basic("bob:builder"), "Require user: another user, 401"],
  ["/team", basic("bob:builder"), "Require group: a member"],
  ["/team", basic("erin:sha512pw"), "Require group: a member listed on a later line"],
  ["/team", basic("alice:wonder"), "Require group: not a member, 401"],
  ["/mixed", undefined, "Require ip (not this client) or valid-user: 401"],
  ["/mixed", basic("carol:sha"), "Require ip or valid-user: the user"],
  ["/passed", basic("carol:sha"), "WSGIPassAuthorization On: the app sees the header"],
  ["/daemon", basic("alice:wonder"), "a daemon process group: REMOTE_USER relayed"],
  ["/daemon", basic("alice:bad"), "a daemon process group: refused by the front"],
  ["/granted", basic("alice:wonder"), "AuthType Basic with Require all granted: no authentication"],
  ["/docs/status.wsgi", undefined, "a static file under valid-user: 401"],
  ["/docs/status.wsgi", basic("alice:wonder"), "a static file under valid-user: the file"],
  ["/docs/status.wsgi", basic("alice:bad"), "a static file under valid-user, a wrong password"],
  ["/nofile", basic("alice:wonder"), "a missing AuthUserFile: 500"],
  ["/nogroups", basic("bob:builder"), "a missing AuthGroupFile: 401"],
  ["/notype", basic("alice:wonder"), "Require valid-user without AuthType: 500"],
  ["/noname", basic("alice:wonder"), "AuthType Basic without AuthName: 500"],
];

describe("Basic authentication through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  let logs: string;
  let answers: Map<string, [WireResponse, WireResponse]>;

  beforeAll(async () => {
    const auth = authDirectory(GROUPS);
    logs = tempDir();
    chmodSync(logs, 0o777);
    const modules = ["authz_core", "authz_host", "authz_user", "authz_groupfile", "auth_basic", "authn_core", "authn_file", "alias", "mime", "wsgi"];
    both = await startBoth(fixture("site/auth.conf"), modules, { FIXTURES, AUTH: auth, LOGS: logs }, { ours: { WHO: "ours" }, apache: { WHO: "apache" } });
    ({ ours, apache } = both);
    answers = await askBoth(apache, ours, CASES.map(([path, authorization]) => [`${path} ${authorization}`, request(path, authorization)]));
  }, 90_000);
  afterAll(() => both?.stop(), 30_000);

  for (const [path, authorization, what] of CASES) {
    test(`${path}: ${what}`, () => {
      const [theirs, mine] = answers.get(`${path} ${authorization}`)!;
      expect(comparable(mine)).toEqual(comparable(theirs));
    });
  }

  test("what the app saw, in a few of them", () => {
    const body = (path: string, authorization?: string) => answers.get(`${path} ${authorization}`)![1].body.toString("utf8");
    expect(body("/private", basic("alice:wonder"))).toBe("user=alice type=Basic authorization=-\n");
    // environ's strings are latin-1 (PEP 3333): the app's REMOTE_USER is the name's UTF-8 bytes, one char each.
    expect(body("/private", basic("jürgen:pässwörd"))).toBe("user=jürgen type=Basic authorization=-\n");
    expect(body("/passed", basic("carol:sha"))).toBe(`user=carol type=Basic authorization=${basic("carol:sha")}\n`);
    expect(body("/daemon", basic("alice:wonder"))).toBe("user=alice type=Basic authorization=-\n");
    expect(body("/open", basic("alice:wonder"))).toBe("user=- type=- authorization=-\n");
    const refused = answers.get(`/private ${undefined}`)![1];
    expect(refused.status).toBe(401);
    expect(refused.header("www-authenticate")).toBe('Basic realm="Private area"');
  });

  test("the error log says why, as Apache's does", async () => {
    await sleep(300);
    const needles = ["AH01617", "AH01618", "AH01614", "AH01631", "AH01620", "AH01665", "AH00027", "AH01615"];
    for (const needle of needles) {
      const theirs = linesOf(apache.errorLog(), needle);
      expect(theirs.length).toBeGreaterThan(0);
      // Apache's AH01620 and AH01665 lines open with the errno ("(2)No such file or directory: ").
      expect(linesOf(ours.log(), needle)).toEqual(theirs);
    }
  });

  test("the access log names the user: the one let in, and the one refused", async () => {
    const file = (who: string) => join(logs, `access-${who}.log`);
    for (let i = 0; i < 50 && (!existsSync(file("ours")) || readFileSync(file("ours"), "utf8").split("\n").length <= CASES.length); i++) await sleep(100);
    const fields = (who: string) => readFileSync(file(who), "utf8").trim().split("\n")
      .map((line) => line.split(" ")).map((words) => [words[2], words[6], words[8]].join(" ")); // %u, the path, the status
    const theirs = fields("apache");
    expect(theirs.length).toBe(CASES.length);
    // As sets: Apache writes a line once its worker has closed the connection, which under load can be
    // after the next request's line (one run had /nogroups's after the two following requests').
    expect(fields("ours").sort()).toEqual([...theirs].sort());
    expect(theirs).toContain("alice /private 200");
    expect(theirs).toContain("alice /private 401");
  });
});

describe("Basic authentication from the command line", () => {
  test("--require valid-user with --auth-user-file and --auth-name: 401, then the user", async () => {
    const dir = authDirectory();
    const server = await start({
      args: ["--alias", `/=${join(FIXTURES, "site/who.wsgi")}`, "--require", "valid-user", "--auth-user-file", join(dir, "users"), "--auth-name", "Flags"],
    });
    try {
      const refused = await exchange(server.port, request("/"));
      expect(refused.status).toBe(401);
      expect(refused.header("www-authenticate")).toBe('Basic realm="Flags"');
      const admitted = await exchange(server.port, request("/", basic("bob:builder")));
      expect(admitted.status).toBe(200);
      expect(admitted.body.toString()).toBe("user=bob type=Basic authorization=-\n");
    } finally {
      await server.stop();
    }
  });

  test("a password changed in the file counts at once: the old one is refused, the new one accepted", async () => {
    const users = join(authDirectory(), "users");
    const server = await start({
      args: ["--alias", `/=${join(FIXTURES, "site/who.wsgi")}`, "--require", "valid-user", "--auth-user-file", users, "--auth-name", "Flags"],
    });
    try {
      expect((await exchange(server.port, request("/", basic("alice:wonder")))).status).toBe(200);
      expect((await exchange(server.port, request("/", basic("alice:wonder")))).status).toBe(200); // the verified credentials again
      // htpasswd -nbm alice other
      writeFileSync(users, USERS.replace(/^alice:.*$/m, () => "alice:$apr1$DWeXACuC$YbWrtz2iJiK/kI.8.I61Y1"));
      expect((await exchange(server.port, request("/", basic("alice:wonder")))).status).toBe(401);
      expect((await exchange(server.port, request("/", basic("alice:other")))).status).toBe(200);
      expect(server.log()).toContain('AH01617: user alice: authentication failure for "/": Password Mismatch');
    } finally {
      await server.stop();
    }
  });

  test("--auth-user-file without --auth-name is a usage error", async () => {
    const result = await run(["--alias", `/=${join(FIXTURES, "site/who.wsgi")}`, "--auth-user-file", "/nonexistent"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--auth-user-file needs --auth-name REALM");
  });
});

/** An auth script's own lines (AUTHCHECK, GROUPCHECK), without the time and pid both servers write differently. */
const scriptLines = (log: string) => messages(log).filter((line) => /AUTHCHECK|GROUPCHECK/.test(line))
  .map((line) => line.replace(/^.*?((AUTH|GROUP)CHECK)/, "$1").replace(/'REMOTE_PORT', /g, "").replace(/'127\.0\.0\.1', \d+/g, "'127.0.0.1'"));

const SCRIPT_CASES: [path: string, authorization: string | undefined, what: string][] = [
  ["/s", undefined, "no credentials: 401, the script not called"],
  ["/s?x=1", basic("ada:lovelace"), "check_password True: in, with the query in environ"],
  ["/s", basic("ada:bad"), "check_password False: 401, Password Mismatch"],
  ["/s", basic("nobody:x"), "check_password None: 401, user not found"],
  ["/s", basic("boom:x"), "check_password raises: 500, its traceback logged"],
  ["/s", basic("odd:x"), "check_password answers a string: in, as that user (mod_wsgi's REMOTE_USER is the string)"],
  ["/g", basic("ada:lovelace"), "Require wsgi-group: groups_for_user names the group (bytes)"],
  ["/g", basic("grace:hopper"), "Require wsgi-group: no groups, 401"],
  ["/both", basic("alice:wonder"), "file then wsgi: the file knows alice"],
  ["/both", basic("ada:lovelace"), "file then wsgi: the script knows ada"],
  ["/both", basic("ada:wrong"), "file then wsgi: the script refuses"],
  ["/named", basic("grace:hopper"), "application-group=: the script runs in that interpreter"],
];

describe("mod_wsgi's auth hooks (WSGIAuthUserScript, WSGIAuthGroupScript) through Apache and wsgi-bin", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  let answers: Map<string, [WireResponse, WireResponse]>;

  beforeAll(async () => {
    const auth = authDirectory();
    const modules = ["authz_core", "authz_host", "authz_user", "auth_basic", "authn_core", "authn_file", "alias", "mime", "wsgi"];
    both = await startBoth(fixture("site/auth-script.conf"), modules, { FIXTURES, AUTH: auth });
    ({ ours, apache } = both);
    answers = await askBoth(apache, ours, SCRIPT_CASES.map(([path, authorization]) =>
      [`${path} ${authorization}`, request(path, authorization, "script.test", "X-Test: seen\r\n")]));
  }, 90_000);
  afterAll(() => both?.stop(), 30_000);

  for (const [path, authorization, what] of SCRIPT_CASES) {
    test(`${path}: ${what}`, () => {
      const [theirs, mine] = answers.get(`${path} ${authorization}`)!;
      expect(comparable(mine)).toEqual(comparable(theirs));
    });
  }

  test("the scripts were called as mod_wsgi calls them: the same arguments, the same environ", async () => {
    await sleep(300);
    const theirs = scriptLines(apache.errorLog());
    expect(theirs.length).toBe(12); // every case but the first (no credentials) and the one the file answers, and two groups_for_user
    expect(scriptLines(ours.log())).toEqual(theirs);
  });

  test("the error log says why, as Apache's does", () => {
    for (const needle of ["AH01617", "AH01618", "AH01631", "User is not a member of any groups", "RuntimeError: boom"]) {
      const theirs = linesOf(apache.errorLog(), needle);
      expect(theirs.length).toBeGreaterThan(0);
      expect(linesOf(ours.log(), needle).length).toBe(theirs.length);
    }
  });
});
