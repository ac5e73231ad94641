// mod_setenvif (SetEnvIf, SetEnvIfNoCase, BrowserMatch) in a virtual host: the same configuration
// served by Apache + mod_wsgi and by wsgi-bin, the variables each request's environ holds compared,
// embedded and in a daemon process group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, run, type RunningServer, tempDir } from "./helpers/server.ts";
import { WireClient } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const CONFIG = fixture("site/setenvif.conf");

/** What the configuration sets, and what its HTTPS decides. */
const KEYS = [
  "HTTPS", "wsgi.url_scheme", "URI_DECODED", "URI_ESCAPED", "UA_NAME", "UA_VERSION", "UA_AMP", "UA_ESCAPED", "UA_NONE",
  "LOCAL", "REMOTE_HOST_MATCHED", "SERVER_ADDR_MATCHED", "SAFE_METHOD", "HTTP11", "MISSING_IS_EMPTY", "CHAINED", "CHAINED_ANY_CASE", "NO_CASE",
  "WITH_CASE", "HEADER_NAME_REGEX", "REPEATS_JOINED", "PLAIN", "EQUALS", "FROM_SETENV", "HTTP_AUTHORIZATION", "BROWSER_CURL",
  "BROWSER_MOZILLA", "URI_DECODED_IN_LOCATION", "URI_ESCAPED_IN_LOCATION", "CHAINED_IN_LOCATION",
];

/** The configuration's variables in one request's environ (absent ones left out). */
async function variables(port: number, path: string, headers: [string, string][], method = "GET"): Promise<Record<string, unknown>> {
  const client = new WireClient(port);
  try {
    const lines = [["Host", "env.test"], ...headers, ["Connection", "close"]].map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await client.send(`${method} ${path} HTTP/1.1\r\n${lines}\r\n`);
    const response = await client.response();
    expect(response.status).toBe(200);
    const environ = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
    return Object.fromEntries(KEYS.filter((key) => key in environ).map((key) => [key, environ[key]]));
  } finally {
    client.close();
  }
}

const CASES: [string, [string, string][], string?][] = [
  ["/a%20b?q=1", [["X-Forwarded-Proto", "https"], ["User-Agent", "curl/8.0 extra"], ["X-Test", "ABC"], ["X-Real", "val"],
    ["X-Dup", "a"], ["X-Dup", "b"], ["Authorization", "Basic Zm9vOmJhcg=="]]],
  ["/x", [["X-Unset", "yes"], ["User-Agent", "Mozilla/5.0"], ["X-Test", "abc"], ["X-Missing", "present"]]],
  ["/x", [["X-Forwarded-Proto", "http"], ["X-Dup", "a, b"]], "POST"],
  ["/x", [["X-Forwarded-Proto", "HTTPS"], ["x-test", "xabcx"], ["User-Agent", "MOZILLA"]]],
];

describe("SetEnvIf through Apache + mod_wsgi and through wsgi-bin, request by request", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    both = await startBoth(CONFIG, ["authz_core", "mime", "env", "setenvif", "wsgi"], { FIXTURES });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  for (const prefix of ["", "/d"]) {
    for (const [path, headers, method = "GET"] of CASES) {
      test(`${method} ${prefix}${path} ${JSON.stringify(headers)}`, async () => {
        const [theirs, mine] = await Promise.all([
          variables(apache.port, prefix + path, headers, method),
          variables(ours.port, prefix + path, headers, method),
        ]);
        expect(mine).toEqual(theirs);
        expect(Object.keys(mine).length).toBeGreaterThan(5); // the conditions did set variables
      });
    }
  }

  test("the first request's variables, as Apache sets them", async () => {
    const mine = await variables(ours.port, CASES[0]![0], CASES[0]![1]);
    expect(mine).toMatchObject({
      "wsgi.url_scheme": "https", UA_NAME: "curl", UA_VERSION: "8.0", UA_AMP: "x&y", UA_ESCAPED: "$1", UA_NONE: "[]",
      URI_ESCAPED: "1", URI_DECODED_IN_LOCATION: "1", PLAIN: "$1", EQUALS: "a=b", FROM_SETENV: "setenv",
      HTTP_AUTHORIZATION: "Basic Zm9vOmJhcg==", REPEATS_JOINED: "1", CHAINED: "yes", CHAINED_ANY_CASE: "yes",
    });
    expect(mine).not.toHaveProperty("HTTPS");
    expect(mine).not.toHaveProperty("URI_DECODED");
    expect(mine).not.toHaveProperty("WITH_CASE");
  });

  test("wsgi-bin reads the configuration without a warning, and --check-config lists the conditions", async () => {
    expect(ours.stderr()).not.toContain("warning");
    const r = await run(["--config", CONFIG, "--check-config"], { env: { FIXTURES, PORT: "8000" } });
    expect(r.stdout).toContain('SetEnvIf X-Forwarded-Proto "^https$" HTTPS="on"');
    expect(r.stdout).toContain('SetEnvIfNoCase User-Agent "MOZILLA" BROWSER_MOZILLA="1"');
  });
});

describe("SetEnvIf's mistakes are configuration errors", () => {
  for (const [line, message] of [
    ['SetEnvIf User-Agent "(unclosed" X=1', /SetEnvIf: invalid regular expression '\(unclosed'/],
    ["SetEnvIf User-Agent x", /SetEnvIf takes|SetEnvIf.*argument/],
    ["SetEnvIf User-Agent x !", /SetEnvIf: '!' needs a variable name after it/],
    ["BrowserMatch x =1", /BrowserMatch: '=1' has no variable name before '='/],
  ] as const) {
    test(line, async () => {
      const config = join(tempDir("wsgi-bin-setenvif-"), "site.conf");
      writeFileSync(config, `WSGIScriptAlias / ${FIXTURES}/hello.wsgi\n${line}\n`);
      const r = await run(["--config", config, "--check-config"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe("CustomLog env=!VAR: the requests Apache leaves out of its access log, wsgi-bin leaves out too", () => {
  const LOG_CONFIG = fixture("site/setenvif-log.conf");
  let logs: string;
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    logs = tempDir("wsgi-bin-setenvif-logs-");
    chmodSync(logs, 0o777);
    both = await startBoth(LOG_CONFIG, ["authz_core", "mime", "alias", "env", "setenvif", "wsgi"], { FIXTURES, LOGS: logs },
      { ours: { WHO: "ours" }, apache: { WHO: "apache" } });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  // [path, User-Agent]: SetEnvIf on the path and on a header (its variable spelled in another case),
  // SetEnv in a <Location>, a static file and a missing one.
  const REQUESTS: [string, string][] = [
    ["/health", "curl"], ["/healthz", "curl"], ["/app?x=1", "curl"], ["/app", "quiet-bot"], ["/silent", "curl"], ["/silent/deeper", "curl"],
    ["/files/hello.wsgi", "curl"], ["/files/hello.wsgi", "quiet-bot"], ["/files/missing", "curl"], ["/files/missing", "quiet-bot"],
  ];

  test("the same requests are logged, in order", async () => {
    for (const port of [apache.port, ours.port]) {
      for (const [path, agent] of REQUESTS) {
        const client = new WireClient(port);
        await client.send(`GET ${path} HTTP/1.1\r\nHost: log.test\r\nUser-Agent: ${agent}\r\nConnection: close\r\n\r\n`);
        await client.response();
        client.close();
      }
    }
    const logged = (who: string) => {
      const file = join(logs, `access-${who}.log`);
      return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => /"([^"]*)" \d+ \S+ "[^"]*" "([^"]*)"$/.exec(line)!.slice(1).join(" ")) : [];
    };
    // Each server writes a request's line once its response is out: waited for on both sides.
    const settled = async (who: string) => {
      let lines: string[] = [];
      for (let i = 0; i < 50 && lines.length < 4; i++, await Bun.sleep(50)) lines = logged(who);
      return lines;
    };
    const theirs = await settled("apache");
    expect(theirs).toEqual(["GET /healthz HTTP/1.1 curl", "GET /app?x=1 HTTP/1.1 curl", "GET /files/hello.wsgi HTTP/1.1 curl", "GET /files/missing HTTP/1.1 curl"]);
    expect(await settled("ours")).toEqual(theirs);
  });
});
