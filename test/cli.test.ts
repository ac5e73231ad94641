// Flags: --help, --version, usage errors (exit 2) and a --python that does not exist (exit non-zero);
// the flags for one host's routes (--setenv, --header, --redirect, --require, --server-alias...), each
// serving real requests as the directive it names.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, fixture, rawRequest, ROOT, run, start, type RunningServer } from "./helpers/server.ts";

const hello = fixture("hello.wsgi");
const wire = fixture("wire.wsgi");

describe("command line", () => {
  test("--help lists the flags and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--alias", "--port", "--threads", "--python", "--python-home", "--python-path", "--application-group",
      "--callable-object", "--no-reload", "--server-name", "--error-log", "--log-level", "--access-log", "--parallel-interpreters",
      "--server-alias", "--document-root", "--url-alias", "--url-alias-match", "--alias-match", "--redirect", "--redirect-match",
      "--directory-index", "--directory-listing", "--options", "--require", "--setenv", "--header", "--no-chunked-request",
      "--restrict-embedded", "--trust-proxy-header", "--trace-enable"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  test("-h is --help", async () => {
    const r = await run(["-h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: wsgi-bin");
  });

  test("--version prints the version and exits 0", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wsgi-bin \d+\.\d+\.\d+/);
  });

  const bad: [string, string[], RegExp][] = [
    ["an unknown flag", ["--frobnicate", hello], /unknown option '--frobnicate'/],
    ["an unknown short flag", ["-x", hello], /unknown option '-x'/],
    ["--port abc", ["--port", "abc", hello], /--port.*'abc'/],
    ["--port 70000", ["--port", "70000", hello], /--port/],
    ["--threads 0", ["--threads", "0", hello], /--threads/],
    ["--alias without =", ["--alias", "/hello"], /--alias wants URL=FILE/],
    ["--alias URL without a leading /", ["--alias", `hello=${hello}`], /must start with '\/'/],
    ["--alias with an unknown option", ["--alias", `/h=${hello},colour=red`], /unknown option 'colour=red'/],
    ["--log-level loud", ["--log-level", "loud", hello], /unknown log level 'loud'/],
    ["a value flag with no value", [hello, "--port"], /'--port' needs a value/],
    ["a switch with a value", ["--no-reload=yes", hello], /takes no value/],
    ["nothing to serve", [], /nothing to serve/],
    ["the same alias twice", ["--alias", `/a=${hello}`, "--alias", `/a=${hello}`], /declared twice/],
    // The flags for one host's routes: their directive's own checks, naming the flag.
    ["--redirect to a relative URL", [hello, "--redirect", "/old new"], /--redirect: Redirect to non-URL 'new'/],
    ["--redirect with a bad status", [hello, "--redirect", "299 /old /new"], /--redirect: Redirect: status 299 is not a redirect or error status/],
    ["--redirect with an open quote", [hello, "--redirect", 'permanent "/old'], /--redirect: unterminated double quote/],
    ["--redirect-match with a bad regex", [hello, "--redirect-match", "^/(x /y"], /--redirect-match: RedirectMatch: invalid regular expression/],
    ["--require all maybe", [hello, "--require", "all maybe"], /--require: Require all takes one argument: granted or denied/],
    ["--require ip with a bad range", [hello, "--require", "ip 10.0.0.300"], /--require: Require ip: '10\.0\.0\.300' is not an IP address/],
    ["--header with an unknown action", [hello, "--header", "frob X-A b"], /--header: Header: unknown action 'frob'/],
    ["--header set without a value", [hello, "--header", "set X-A"], /--header: Header set needs a header name and a value/],
    ["--setenv without a name", [hello, "--setenv", "=x"], /--setenv wants NAME=VALUE/],
    ["--trace-enable maybe", [hello, "--trace-enable", "maybe"], /--trace-enable: TraceEnable must be on, off or extended, not 'maybe'/],
    ["--url-alias without =", [hello, "--url-alias", "/static"], /--url-alias wants URL-PATH=FILE-OR-DIRECTORY/],
    ["--url-alias URL without a leading /", [hello, "--url-alias", "static=/tmp"], /--url-alias: Alias: the URL-path must start with '\/'/],
    ["--url-alias-match with a bad regex", [hello, "--url-alias-match", "(=/tmp"], /--url-alias-match: AliasMatch: invalid regular expression/],
    ["--alias-match with an unknown option", [hello, "--alias-match", `^/x=${hello},colour=red`], /--alias-match: unknown option 'colour=red'/],
    ["--alias-match with a bad callable", [hello, "--alias-match", `^/x=${hello},callable-object=1x`], /--alias-match: WSGIScriptAliasMatch: callable-object '1x' is not a Python name/],
    ["--options mixing + and plain", [hello, "--options", "Indexes +FollowSymLinks"], /--options: Options: either all options must start with \+ or -/],
    ["--options with an unknown option", [hello, "--options", "Frobnicate"], /--options: Options: illegal option 'Frobnicate'/],
    ["--directory-index empty", [hello, "--directory-index", ""], /--directory-index: DirectoryIndex takes at least 1 argument/],
    ["--directory-listing with a value", [hello, "--directory-listing=yes"], /'--directory-listing' takes no value/],
    ["--server-alias without --server-name", [hello, "--server-alias", "b.example"], /--server-alias needs --server-name/],
    ["--server-alias with a blank", [hello, "--server-name", "a.example", "--server-alias", "b.example c.example"], /--server-alias wants one host name/],
    ["--trust-proxy with a bad range", [hello, "--trust-proxy", "10.0.0.0/40"], /--trust-proxy: WSGITrustedProxies: '10\.0\.0\.0\/40' is not an IP address/],
    ["a route flag with --config", ["--config", fixture("config/unknown.conf"), "--setenv", "A=b"], /--setenv cannot be combined with --config: write them in the file \(.*SetEnv\)/],
  ];
  for (const [name, args, message] of bad) {
    test(`${name} exits 2 with a message`, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("wsgi-bin --help");
      expect(r.stdout).toBe("");
    });
  }

  test("--python pointing at a non-existent file exits non-zero and lists what was tried", async () => {
    const missing = "/nonexistent/dir/python3.99";
    const r = await run(["--python", missing, "--port", "0", hello]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain("Tried:");
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toContain("listening on");
  });

  test("--python pointing at a non-existent libpython .so exits non-zero and names it", async () => {
    const missing = "/nonexistent/lib/libpython3.99.so.1.0";
    const r = await run(["--python", missing, "--port", "0", hello]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Tried:");
    expect(r.stderr).toContain(`${missing}: no such file`);
  });
});

/** The environ /wire/env reports (wire.wsgi), asked with extra request headers. */
async function environ(url: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const response = await fetch(`${url}/wire/env`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

describe("flags for one host's routes, each served as the directive it names", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: ["--alias", `/wire=${wire}`,
        "--alias-match", `^/scripts/(\\w+)=${FIXTURES}/$1.wsgi,application-group=scripts`,
        "--url-alias", `/fixtures/=${FIXTURES}/`,
        "--setenv", "WSGI_BIN_FLAG=set=twice", "--setenv", "WSGI_BIN_EMPTY",
        "--header", 'set X-Flag "on the host"', "--header", "always set X-Always yes",
        "--redirect", "permanent /old https://example.com/new",
        "--redirect-match", "303 ^/see/(.*)$ /wire/env/$1",
        "--no-chunked-request"],
    });
  });
  afterAll(() => server?.stop());

  test("--setenv puts NAME=VALUE (or NAME, empty) in environ (SetEnv)", async () => {
    const env = await environ(server.url);
    expect(env.WSGI_BIN_FLAG).toBe("set=twice");
    expect(env.WSGI_BIN_EMPTY).toBe("");
  });

  test("--header edits the app's responses; with always, the server's error pages too (Header)", async () => {
    const ok = await fetch(`${server.url}/wire/env`);
    expect(ok.headers.get("x-flag")).toBe("on the host");
    expect(ok.headers.get("x-always")).toBe("yes");
    const missing = await fetch(`${server.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-always")).toBe("yes");
    expect(missing.headers.get("x-flag")).toBeNull();
  });

  test("--alias-match mounts the script its regex names, SCRIPT_NAME the matched part (WSGIScriptAliasMatch)", async () => {
    expect(await (await fetch(`${server.url}/scripts/hello`)).text()).toBe("Hello World!");
    const env = await (await fetch(`${server.url}/scripts/environ/rest`)).json() as Record<string, string>;
    expect(env.SCRIPT_NAME).toBe("/scripts/environ");
    expect(env.PATH_INFO).toBe("/rest");
    expect(env["mod_wsgi.application_group"]).toBe("scripts");
    expect((await fetch(`${server.url}/scripts/no-such-script`)).status).toBe(404);
  });

  test("--url-alias serves a directory's files as they are (Alias)", async () => {
    const file = await fetch(`${server.url}/fixtures/hello.wsgi`);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe(readFileSync(hello, "utf8"));
    expect(file.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
  });

  test("--redirect and --redirect-match answer with their status and Location (Redirect, RedirectMatch)", async () => {
    const moved = await fetch(`${server.url}/old/x?q=1`, { redirect: "manual" });
    expect(moved.status).toBe(301);
    expect(moved.headers.get("location")).toBe("https://example.com/new/x?q=1");
    const see = await fetch(`${server.url}/see/abc`, { redirect: "manual" });
    expect(see.status).toBe(303);
    expect(see.headers.get("location")).toBe(`${server.url}/wire/env/abc`);
  });

  test("--no-chunked-request: a chunked request body gets 411 and the connection closes; a sized one is served (WSGIChunkedRequest Off)", async () => {
    const chunked = (await rawRequest(server.port, "POST /wire/env HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")).toString("latin1");
    expect(chunked).toStartWith("HTTP/1.1 411 Length Required\r\n");
    expect(chunked).toContain("Connection: close\r\n");
    expect(chunked).toContain("A request of the requested method POST requires a valid Content-length.");
    await server.waitForLog(/chunked transfer encoding is not enabled \(WSGIChunkedRequest Off\)/);
    const sized = (await rawRequest(server.port, "POST /wire/env HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")).toString("latin1");
    expect(sized).toStartWith("HTTP/1.1 200 ");
  });
});

describe("--server-alias, --require, --trust-proxy-header, --restrict-embedded, --trace-enable", () => {
  test("--trace-enable off refuses TRACE with 405; by default the server echoes it, the app never called (TraceEnable)", async () => {
    const [off, on] = await Promise.all([
      start({ args: ["--alias", `/wire=${wire}`, "--trace-enable", "off"] }),
      start({ args: ["--alias", `/wire=${wire}`] }),
    ]);
    try {
      const refused = await fetch(`${off.url}/wire/env`, { method: "TRACE" });
      expect(refused.status).toBe(405);
      expect(refused.headers.get("allow")).toBe("");
      // fetch() drops a TRACE response's body: read the wire.
      const echoed = (await rawRequest(on.port, "TRACE /wire/env HTTP/1.1\r\nHost: h\r\nX-Probe: p\r\nConnection: close\r\n\r\n")).toString("latin1");
      expect(echoed).toStartWith("HTTP/1.1 200 OK\r\n");
      expect(echoed).toContain("\r\nContent-Type: message/http\r\n");
      expect(echoed).toEndWith("\r\n\r\nTRACE /wire/env HTTP/1.1\r\nHost: h\r\nX-Probe: p\r\nConnection: close\r\n\r\n");
    } finally {
      await Promise.all([off.stop(), on.stop()]);
    }
  });

  test("--server-alias: the host answers its name and aliases (wildcards too); a Host naming neither gets 403 (ServerAlias)", async () => {
    const server = await start({ args: ["--alias", `/wire=${wire}`, "--server-name", "a.example", "--server-alias", "*.b.example", "--server-alias", "c.example"] });
    try {
      for (const host of ["a.example", "x.b.example", "C.example:8000"]) {
        const env = await environ(server.url, { Host: host });
        expect(env.SERVER_NAME).toBe(host.replace(/:\d+$/, "").toLowerCase()); // lowered, as Apache's
      }
      const other = await fetch(`${server.url}/wire/env`, { headers: { Host: "other.example" } });
      expect(other.status).toBe(403);
      await server.waitForLog(/AH01630: client denied by server configuration: \/wire\/env/);
    } finally {
      await server.stop();
    }
  });

  test("--require: a client the rules do not grant gets 403 and a log line; another rule that grants lets it in (Require)", async () => {
    const [denying, granting] = await Promise.all([
      start({ args: ["--alias", `/wire=${wire}`, "--require", "ip 10.0.0.0/8"] }),
      start({ args: ["--alias", `/wire=${wire}`, "--require", "ip 10.0.0.0/8", "--require", "local"] }),
    ]);
    try {
      const denied = await fetch(`${denying.url}/wire/env`);
      expect(denied.status).toBe(403);
      expect(await denied.text()).toContain("You don't have permission to access this resource.");
      await denying.waitForLog(/\[client 127\.0\.0\.1:\d+\] AH01630: client denied by server configuration: .*wire\.wsgi/);
      expect((await environ(granting.url)).REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    } finally {
      await Promise.all([denying.stop(), granting.stop()]);
    }
  });

  test("--trust-proxy-header picks the header of its kind: X-Real-IP gives REMOTE_ADDR, X-Forwarded-For is removed (WSGITrustedProxyHeaders)", async () => {
    const server = await start({ args: ["--alias", `/wire=${wire}`, "--trust-proxy", "127.0.0.1", "--trust-proxy-header", "X-Real-IP", "--trust-proxy-header", "X-Forwarded-Server"] });
    try {
      const env = await environ(server.url, { "X-Real-IP": "198.51.100.7", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Server": "front.example" });
      expect(env.REMOTE_ADDR).toBe("198.51.100.7");
      expect(env.HTTP_X_REAL_IP).toBe("198.51.100.7");
      expect(env.HTTP_X_FORWARDED_FOR).toBeUndefined();
      expect(env.SERVER_NAME).toBe("front.example");
    } finally {
      await server.stop();
    }
  });

  test("in a daemon process group too: the daemon believes the trusted proxy's X-Forwarded-For as the front saw the client", async () => {
    const server = await start({ args: ["--daemon-process", "d,processes=1,threads=2", "--alias", `/wire=${wire},process-group=d`, "--trust-proxy", "127.0.0.1"] });
    try {
      const env = await environ(server.url, { "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https" });
      expect(env["mod_wsgi.process_group"]).toBe("d");
      expect(env.REMOTE_ADDR).toBe("203.0.113.9");
      expect(env["wsgi.url_scheme"]).toBe("https");
    } finally {
      await server.stop();
    }
  });

  test("--restrict-embedded refuses the routes of the embedded group; a daemon group's are served (WSGIRestrictEmbedded On)", async () => {
    const r = await run(["--alias", `/wire=${wire}`, "--restrict-embedded", "--port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("WSGIScriptAlias /wire: WSGIRestrictEmbedded On forbids the embedded process group: not served");
    expect(r.stderr).toContain("error: nothing to serve");
    const server = await start({ args: ["--restrict-embedded", "--daemon-process", "d,processes=1,threads=1", "--alias", `/wire=${wire},process-group=d`, "--alias", `/hello=${hello}`] });
    try {
      expect(server.stderr()).toContain("WSGIScriptAlias /hello: WSGIRestrictEmbedded On forbids the embedded process group: not served");
      expect((await environ(server.url))["mod_wsgi.process_group"]).toBe("d");
      expect((await fetch(`${server.url}/hello`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});

describe("the README documents every flag", () => {
  /** The flags named in a piece of text: --name, and -D, -h, -v. */
  const flagsIn = (text: string) => new Set([...text.matchAll(/(?<![\w-])(--[a-z][a-z-]*[a-z]|-[Dhv])\b/g)].map((m) => m[1]!));
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = (heading: string) => {
    const start = readme.indexOf(`\n${heading}\n`);
    expect(start).toBeGreaterThan(0);
    const rows = readme.slice(start).split("\n").slice(1);
    const table = rows.slice(rows.findIndex((line) => line.startsWith("|")));
    return table.slice(0, table.findIndex((line) => !line.startsWith("|"))).join("\n");
  };

  test("--help, the README's Flags table and its Directives and flags table name the same flags", async () => {
    const help = flagsIn((await run(["--help"])).stdout);
    // The flags column of each table: the first column of Flags, the second of Directives and flags.
    const column = (table: string, index: number) => flagsIn(table.split("\n").slice(2).map((row) => row.split(/(?<!\\)\|/)[index + 1] ?? "").join("\n"));
    const flagsTable = column(section("### Flags"), 0);
    const directivesTable = column(section("### Directives and flags"), 1);
    expect(help.size).toBeGreaterThan(60);
    expect([...flagsTable].sort()).toEqual([...help].sort());
    expect([...directivesTable].sort()).toEqual([...help].sort());
  });
});
