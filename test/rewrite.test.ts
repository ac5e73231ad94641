// mod_rewrite in a virtual host (RewriteEngine, RewriteCond, RewriteRule): the same configuration
// served by Apache + mod_rewrite and by wsgi-bin, every answer's status and Location compared.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, run, type RunningServer } from "./helpers/server.ts";
import { WireClient, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const CONFIG = fixture("site/rewrite.conf");

/** One request on its own connection. */
async function ask(port: number, path: string, headers: Record<string, string>, method = "GET"): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    const lines = Object.entries({ ...headers, Connection: "close" }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await client.send(`${method} ${path} HTTP/1.1\r\n${lines}${method === "POST" ? "Content-Length: 0\r\n" : ""}\r\n`);
    return await client.response({ head: method === "HEAD" });
  } finally {
    client.close();
  }
}

// [host, path, extra headers, method]: each asked of b.test (rules ending with [L]) and of c.test
// (the same redirects without [L]), a.test's certbot rule on its own.
const CASES: [string, Record<string, string>?, string?][] = [
  ["/hello"], ["/old/thing?k=v"], ["/q/abc?orig=1"], ["/qsa/abc?orig=1"], ["/qsa/abc"], ["/qsd?orig=1"], ["/empty-q?orig=1"],
  ["/secret"], ["/gone"], ["/keep/post"], ["/keep/post", {}, "POST"], ["/force-https/a%20b?z"],
  ["/esc/a%20b/%C3%BC/%25/x+y?q=a%20b"], ["/ne/a%20b/%C3%BC/%25"], ["/uri/a%20b"], ["/hdr", { "X-Test": "yes" }], ["/hdr"], ["/hdr2", { "X-Test": "yes" }],
  ["/item?a=1&id=42&b=2"], ["/item?id=x"], ["/keep"], ["/case"], ["/CASE"], ["/other"], ["/abs/zz?q=1"], ["/old/x", {}, "HEAD"],
];

describe("RewriteRule and RewriteCond through Apache + mod_rewrite and through wsgi-bin, request by request", () => {
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    both = await startBoth(CONFIG, ["authz_core", "mime", "rewrite", "wsgi"], { FIXTURES });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  const comparable = (r: WireResponse, port: number) => ({ status: r.status, location: r.header("location")?.replaceAll(String(port), "PORT") });

  const all: [string, string, Record<string, string>, string][] = [
    ["a.test", "/x?y=1", {}, "GET"], ["www.a.test", "/a%20b/%C3%BC?q=%20", {}, "GET"],
    ["www.b.test", "/some/path?z=1", {}, "GET"], ["WWW.b.test:8080", "/p", {}, "GET"], ["b.test:80", "/old/x", {}, "GET"],
    ...CASES.flatMap(([path, headers = {}, method = "GET"]): [string, string, Record<string, string>, string][] =>
      ["b.test", "c.test"].map((host) => [host, path, headers, method])),
  ];
  for (const [host, path, headers, method] of all) {
    test(`${method} ${host} ${path}${Object.keys(headers).length ? ` ${JSON.stringify(headers)}` : ""}`, async () => {
      const [theirs, mine] = await Promise.all([
        ask(apache.port, path, { Host: host, ...headers }, method),
        ask(ours.port, path, { Host: host, ...headers }, method),
      ]);
      expect(comparable(mine, ours.port)).toEqual(comparable(theirs, apache.port));
    });
  }

  /** What a [PT] rewrite leaves in environ (the app's JSON), or the status when it is no JSON. */
  const mapped = (r: WireResponse, port: number) => {
    if (r.header("content-type") !== "application/json") return { status: r.status, body: r.body.toString("latin1") };
    const environ = JSON.parse(r.body.toString("utf8")) as Record<string, string>;
    const keys = ["SCRIPT_URL", "SCRIPT_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "wsgi.url_scheme"];
    return { status: r.status, ...Object.fromEntries(keys.map((key) => [key, environ[key]?.replaceAll(String(port), "PORT")])) };
  };
  for (const path of ["/pt/a%20b?q=1", "/pt-query/7?q=1", "/pt-qsa/7?q=1", "/pt-daemon/x?q=1", "/pt-nowhere", "/pt-then-more", "/app/plain?q=2"]) {
    test(`[PT] ${path}: the new path's route runs, with the environ Apache + mod_wsgi gives it`, async () => {
      const [theirs, mine] = await Promise.all([ask(apache.port, path, { Host: "d.test" }), ask(ours.port, path, { Host: "d.test" })]);
      expect(mapped(mine, ours.port)).toEqual(mapped(theirs, apache.port));
    });
  }

  test("a [NE] redirect taking a CR LF from the path is a 500 without the header, as in Apache (AH02430)", async () => {
    const path = "/ne-segment/a%0d%0aX-Injected:%20yes";
    const [theirs, mine] = await Promise.all([ask(apache.port, path, { Host: "b.test" }), ask(ours.port, path, { Host: "b.test" })]);
    for (const r of [theirs, mine]) {
      expect(r.status).toBe(500);
      expect(r.header("location")).toBeUndefined();
      expect(r.header("x-injected")).toBeUndefined();
    }
    expect(ours.stderr()).toContain(String.raw`AH02430: Response header 'Location' value of "http://e.example/a\r\nX-Injected: yes" contains invalid characters`);
  });

  test("wsgi-bin warns only of %{HTTP_X_TEST} (twice: b.test's and c.test's), and --check-config lists the rules", async () => {
    const warnings = ours.stderr().split("\n").filter((line) => line.includes("warning"));
    expect(warnings).toEqual([0, 0].map(() => expect.stringMatching(/RewriteCond: %\{HTTP_X_TEST\} is no mod_rewrite variable \(a request header is %\{HTTP:Name\}\): it reads as empty, in Apache too$/)));
    const r = await run(["--config", CONFIG, "--check-config"], { env: { FIXTURES, PORT: "8000" } });
    expect(r.stdout).toContain("1. rewrite ^ -> 301 https://%{SERVER_NAME}%{REQUEST_URI} [L] if %{SERVER_NAME} =www.a.test or if %{SERVER_NAME} =a.test");
    expect(r.stdout).toContain("4. rewrite ^/pt-daemon/(.*)$ -> path /d/$1 [PT]");
  });
});

describe("what wsgi-bin's mod_rewrite leaves out is a warning, and the rest is served", () => {
  test("an internal rewrite, a flag it lacks, per-directory rules and RewriteMap lookups: one warning each", async () => {
    const r = await run(["--config", fixture("site/rewrite-unsupported.conf"), "--check-config"], { env: { FIXTURES } });
    const warnings = r.stderr.split("\n").filter((line) => line.startsWith("wsgi-bin: warning: "));
    expect(warnings).toEqual([
      expect.stringMatching(/:7: config variable \$\{m:\$1\} is not defined$/), // as httpd's AH00111, which leaves it as written
      expect.stringMatching(/:5: RewriteRule: rewriting to '\/index\.php\?path=\$1' on this server \(an internal rewrite\) is not implemented/),
      expect.stringMatching(/:6: RewriteRule: the flag \[P\] is not implemented by wsgi-bin: this rule is ignored$/),
      expect.stringMatching(/:7: RewriteRule: RewriteMap lookups/),
      expect.stringMatching(/:8: RewriteRule: the variable %\{TIME_HOUR\} is not implemented by wsgi-bin: it reads as empty$/),
      expect.stringMatching(/:10: mod_rewrite inside a <Directory>, <Files> or <Location> .* ignored/),
    ]);
    expect(r.stdout).toContain("1. rewrite ^/map/(.*) -> 302 /new/${m:$1}");
  });
});
