// The whole site from an Apache configuration: static files (Alias, DocumentRoot) with their types,
// validators, conditions and ranges, the ways out of a mapping refused, Options Indexes and
// FollowSymLinks, DirectoryIndex, Require, Redirect, Header; the same static site served by Apache
// from the same file, compared response by response; name-based virtual hosts with their own
// routes, SetEnv and Header rules; and a big file sent in bounded memory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { startApache, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, freePort, getJson, run, type RunningServer, start, tempDir } from "./helpers/server.ts";
import { WireClient, type WireResponse } from "./helpers/wire-client.ts";

afterAll(cleanupTemps);

const MTIME = new Date("2026-01-02T03:04:05.678Z");
const BIG = 256 << 20;

/** The static site's tree, made fresh: files with a fixed modification time, symbolic links in and out. */
function makeSite(): string {
  const site = tempDir("wsgi-bin-site-");
  const write = (rel: string, content: string | Uint8Array) => {
    mkdirSync(dirname(join(site, rel)), { recursive: true });
    writeFileSync(join(site, rel), content);
  };
  write("htdocs/a.txt", "hello world\n");
  write("htdocs/style.css", "body { color: black }\n");
  write("htdocs/page.html.zzz", "<p>an old page</p>\n");
  write("htdocs/old.html.bak", "<p>a backup</p>\n");
  write("htdocs/archive.tar.gz", Uint8Array.from([0x1f, 0x8b, 8, 0]));
  write("htdocs/noext", "no extension\n");
  write("htdocs/space name.txt", "spaced\n");
  write("htdocs/b.bin", Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) & 0xff));
  write("htdocs/sub/index.html", "<p>the sub index</p>\n");
  write("htdocs/sub/deeper/x.txt", "deeper\n");
  write("htdocs/closed/secret.txt", "closed\n");
  write("htdocs/lan/x.txt", "lan only\n");
  write("htdocs/local/x.txt", "local only\n");
  write("htdocs/noindex/f.txt", "unlisted\n");
  write("htdocs/custom-index/start.html", "<p>start</p>\n");
  write("files/doc.txt", "a document\n");
  write("outside/secret.txt", "outside every mapping\n");
  mkdirSync(join(site, "linked"));
  symlinkSync(join(site, "outside/secret.txt"), join(site, "files/link-out"));
  symlinkSync("doc.txt", join(site, "files/link-in"));
  symlinkSync(join(site, "outside/secret.txt"), join(site, "linked/link-out"));
  symlinkSync(join(site, "outside"), join(site, "htdocs/link-out"));
  const walk = (dir: string) => {
    chmodSync(dir, 0o755); // Apache's children run as www-data
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) continue;
      if (stats.isDirectory()) walk(path);
      else {
        chmodSync(path, 0o644);
        utimesSync(path, MTIME, MTIME);
      }
    }
  };
  walk(site);
  return site;
}

/** One request on its own connection, the response read off the wire as it is. */
async function ask(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers, Connection: "close" }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await client.send(`${method} ${path} HTTP/1.1\r\n${lines}${method === "POST" || method === "PUT" ? "Content-Length: 0\r\n" : ""}\r\n`);
    return await client.response({ head: method === "HEAD" });
  } finally {
    client.close();
  }
}

const ETAG = (content: string) => `"${Buffer.byteLength(content).toString(16)}-${(BigInt(MTIME.getTime()) * 1000n).toString(16)}"`;
const LAST_MODIFIED = MTIME.toUTCString(); // whole seconds, as HTTP dates are

describe("static files from a configuration (DocumentRoot, Alias)", () => {
  let site: string;
  let server: RunningServer;
  beforeAll(async () => {
    site = makeSite();
    server = await start({ args: ["--config", fixture("site/static.conf")], env: { SITE: site } });
  });
  afterAll(() => server?.stop());

  test("the configuration is served without warnings", () => {
    expect(server.stderr().split("\n").filter((line) => line.startsWith("wsgi-bin: warning"))).toEqual([]);
  });

  test("Content-Type from the name's extensions (the last one known wins; none known, none sent)", async () => {
    const cases: [string, string | undefined][] = [
      ["/a.txt", "text/plain"], ["/style.css", "text/css"], ["/page.html.zzz", "text/html"], ["/noext", undefined],
      ["/archive.tar.gz", "application/gzip"], ["/sub/index.html", "text/html"],
    ];
    for (const [path, type] of cases) {
      const r = await ask(server.port, path);
      expect(r.status).toBe(200);
      expect(r.header("content-type")).toBe(type);
    }
  });

  test("a file: its bytes, Content-Length, ETag (size-mtime, as Apache's), Last-Modified, Accept-Ranges, and the host's Header rules", async () => {
    const r = await ask(server.port, "/a.txt");
    expect(r.body.toString()).toBe("hello world\n");
    expect(r.header("content-length")).toBe("12");
    expect(r.header("etag")).toBe(ETAG("hello world\n"));
    expect(r.header("last-modified")).toBe(LAST_MODIFIED);
    expect(r.header("accept-ranges")).toBe("bytes");
    expect(r.header("x-static")).toBe("from the site");
    expect(r.header("x-always")).toBe("yes");
    const binary = await ask(server.port, "/b.bin");
    expect(Buffer.compare(binary.body, readFileSync(join(site, "htdocs/b.bin")))).toBe(0);
  });

  test("HEAD: the same head, no body", async () => {
    const r = await ask(server.port, "/a.txt", {}, "HEAD");
    expect(r.status).toBe(200);
    expect(r.header("content-length")).toBe("12");
    expect(r.header("etag")).toBe(ETAG("hello world\n"));
    // The connection closes right after the head: nothing followed it.
    expect(r.body.length).toBe(0);
  });

  test("If-None-Match and If-Modified-Since give 304 with the validators; a changed tag or an older date give the file", async () => {
    const etag = ETAG("hello world\n");
    const validating: Record<string, string>[] = [{ "If-None-Match": etag }, { "If-None-Match": `"other", W/${etag}` }, { "If-None-Match": "*" }, { "If-Modified-Since": LAST_MODIFIED }];
    for (const headers of validating) {
      const r = await ask(server.port, "/a.txt", headers);
      expect(r.status).toBe(304);
      expect(r.header("etag")).toBe(etag);
      expect(r.header("content-length")).toBeUndefined();
    }
    expect((await ask(server.port, "/a.txt", { "If-None-Match": '"other"' })).status).toBe(200);
    expect((await ask(server.port, "/a.txt", { "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT" })).status).toBe(200);
    // A date in the future is no validator (Apache ignores it).
    expect((await ask(server.port, "/a.txt", { "If-Modified-Since": "Sat, 01 Jan 2050 00:00:00 GMT" })).status).toBe(200);
    expect((await ask(server.port, "/a.txt", { "If-Match": '"other"' })).status).toBe(412);
    expect((await ask(server.port, "/a.txt", { "If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT" })).status).toBe(412);
    expect((await ask(server.port, "/a.txt", { "If-Match": etag })).status).toBe(200);
  });

  test("Range: 206 with Content-Range (a-b, a-, -n, clamped), several ranges as multipart/byteranges, 416 when none fits", async () => {
    const cases: [string, string, string][] = [
      ["bytes=2-4", "llo", "bytes 2-4/12"], ["bytes=6-", "world\n", "bytes 6-11/12"], ["bytes=-3", "ld\n", "bytes 9-11/12"],
      ["bytes=0-100", "hello world\n", "bytes 0-11/12"], ["bytes=0-1,1-3", "hell", "bytes 0-3/12"],
    ];
    for (const [range, body, contentRange] of cases) {
      const r = await ask(server.port, "/a.txt", { Range: range });
      expect(r.status).toBe(206);
      expect(r.body.toString()).toBe(body);
      expect(r.header("content-range")).toBe(contentRange);
      expect(r.header("content-length")).toBe(String(body.length));
      expect(r.header("content-type")).toBe("text/plain");
    }
    const multi = await ask(server.port, "/a.txt", { Range: "bytes=0-1,6-7" });
    expect(multi.status).toBe(206);
    const boundary = /^multipart\/byteranges; boundary=([0-9a-f]+)$/.exec(multi.header("content-type")!)![1];
    expect(multi.body.toString()).toBe(`\r\n--${boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 0-1/12\r\n\r\nhe` +
      `\r\n--${boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 6-7/12\r\n\r\nwo\r\n--${boundary}--\r\n`);
    expect(Number(multi.header("content-length"))).toBe(multi.body.length);
    const unsatisfiable = await ask(server.port, "/a.txt", { Range: "bytes=100-200" });
    expect(unsatisfiable.status).toBe(416);
    // Malformed or backwards: ignored, the whole file.
    for (const range of ["bytes=5-2", "items=0-1", "bytes=x"]) expect((await ask(server.port, "/a.txt", { Range: range })).status).toBe(200);
    // If-Range: the range only while the file is the one the client has.
    expect((await ask(server.port, "/a.txt", { Range: "bytes=0-1", "If-Range": ETAG("hello world\n") })).status).toBe(206);
    expect((await ask(server.port, "/a.txt", { Range: "bytes=0-1", "If-Range": '"stale"' })).status).toBe(200);
    expect((await ask(server.port, "/a.txt", { Range: "bytes=0-1", "If-Range": LAST_MODIFIED })).status).toBe(206);
    const head = await ask(server.port, "/b.bin", { Range: "bytes=10-19" }, "HEAD");
    expect(head.status).toBe(206);
    expect(head.header("content-range")).toBe("bytes 10-19/100000");
  });

  test("methods: POST gets the file, OPTIONS the Allow list, PUT and DELETE 405", async () => {
    expect((await ask(server.port, "/a.txt", {}, "POST")).body.toString()).toBe("hello world\n");
    expect((await ask(server.port, "/a.txt", {}, "OPTIONS")).header("allow")).toBe("GET,POST,OPTIONS,HEAD,TRACE");
    for (const method of ["PUT", "DELETE"]) {
      const r = await ask(server.port, "/a.txt", {}, method);
      expect(r.status).toBe(405);
      expect(r.header("allow")).toBe("GET,POST,OPTIONS,HEAD,TRACE");
      expect(r.body.toString()).toContain(`<p>The requested method ${method} is not allowed for this URL.</p>`);
    }
  });

  test("no way out of the mapping: .., %2e%2e and encoded slashes are refused before the file system is asked", async () => {
    expect((await ask(server.port, "/../outside/secret.txt")).status).toBe(400);
    expect((await ask(server.port, "/%2e%2e/outside/secret.txt")).status).toBe(400);
    expect((await ask(server.port, "/files/%2E%2e/%2e%2E/outside/secret.txt")).status).toBe(400);
    expect((await ask(server.port, "/files/..%2f..%2foutside%2fsecret.txt")).status).toBe(404);
    expect((await ask(server.port, "/files/%2e%2e%2foutside/secret.txt")).status).toBe(404);
    // Dot segments that stay inside are resolved, as Apache resolves them.
    expect((await ask(server.port, "/files/../a.txt")).body.toString()).toBe("hello world\n");
  });

  test("symbolic links: refused without Options FollowSymLinks (out of the mapping or not), followed with it", async () => {
    for (const path of ["/files/link-out", "/files/link-in", "/link-out/secret.txt"]) {
      const r = await ask(server.port, path);
      expect(r.status).toBe(403);
      expect(r.body.toString()).toContain("You don't have permission to access this resource.");
    }
    await server.waitForLog(/AH00032: Symbolic link not allowed or link target not accessible: .*\/files\/link-out/);
    expect((await ask(server.port, "/linked/link-out")).body.toString()).toBe("outside every mapping\n");
  });

  test("directories: a slash added (301), DirectoryIndex, a listing only with Options Indexes", async () => {
    const slash = await ask(server.port, "/sub?x=1");
    expect(slash.status).toBe(301);
    expect(slash.header("location")).toBe(`http://127.0.0.1:${server.port}/sub/?x=1`);
    expect((await ask(server.port, "/sub/")).body.toString()).toBe("<p>the sub index</p>\n");
    expect((await ask(server.port, "/custom-index/")).body.toString()).toBe("<p>start</p>\n");
    const listing = await ask(server.port, "/");
    expect(listing.status).toBe(200);
    expect(listing.header("content-type")).toBe("text/html;charset=ISO-8859-1");
    const html = listing.body.toString();
    for (const entry of ['<a href="a.txt"> a.txt</a>', '<a href="sub/"> sub/</a>', '<a href="space%20name.txt"> space name.txt</a>']) expect(html).toContain(entry);
    expect(html).not.toContain("link-out"); // a link it would refuse is not listed
    expect(html).not.toContain("Parent Directory");
    expect((await ask(server.port, "/sub/deeper/")).body.toString()).toContain('<li><a href="/sub/"> Parent Directory</a></li>');
    const unlisted = await ask(server.port, "/noindex/");
    expect(unlisted.status).toBe(403);
    await server.waitForLog(/AH01276: Cannot serve directory .*\/noindex\/: No matching DirectoryIndex \(index\.html\) found/);
    expect((await ask(server.port, "/files/")).status).toBe(403); // Options None
    expect((await ask(server.port, "/a.txt/")).status).toBe(404);
    expect((await ask(server.port, "/a.txt/more")).status).toBe(404);
    expect((await ask(server.port, "/missing.txt")).status).toBe(404);
  });

  test("Require: all denied and an ip range the client is not in give 403 (logged); Require local lets 127.0.0.1 in", async () => {
    expect((await ask(server.port, "/closed/secret.txt")).status).toBe(403);
    expect((await ask(server.port, "/closed/missing.txt")).status).toBe(403); // access is checked before existence
    expect((await ask(server.port, "/lan/x.txt")).status).toBe(403);
    await server.waitForLog(/\[client 127\.0\.0\.1:\d+\] AH01630: client denied by server configuration: .*\/htdocs\/lan\/x\.txt/);
    expect((await ask(server.port, "/local/x.txt")).body.toString()).toBe("local only\n");
  });

  test("Redirect and RedirectMatch: the rest of the path and the query carried over, made absolute from Host; Redirect gone is 410", async () => {
    const old = await ask(server.port, "/old/x%20y?q=1");
    expect(old.status).toBe(302);
    expect(old.header("location")).toBe(`http://127.0.0.1:${server.port}/new/x%20y?q=1`);
    expect(old.header("x-always")).toBe("yes"); // Header always applies to the server's own responses
    expect(old.header("x-static")).toBeUndefined(); // the others do not
    expect((await ask(server.port, "/oldish")).status).toBe(404); // /old covers /old and /old/..., not /oldish
    const moved = await ask(server.port, "/moved/deep");
    expect(moved.status).toBe(301);
    expect(moved.header("location")).toBe("http://elsewhere.example/moved/deep");
    expect((await ask(server.port, "/gone")).status).toBe(410);
    // The host and port Host names (Apache's UseCanonicalName Off); without a port, the scheme's.
    const match = await ask(server.port, "/match/doc.html", { Host: "files.example:8080" });
    expect(match.header("location")).toBe("http://files.example:8080/files/doc.txt");
    expect((await ask(server.port, "/match/doc.html", { Host: "files.example" })).header("location")).toBe("http://files.example/files/doc.txt");
  });

  test(`a ${BIG >> 20} MiB file to a slow reader: every byte, and the server's RSS grows less than 64 MiB`, async () => {
    writeFileSync(join(site, "htdocs/zeros.bin"), "");
    truncateSync(join(site, "htdocs/zeros.bin"), BIG); // sparse: made in no time
    const rss = () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))![1]);
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    let received = 0;
    let head = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(server.port, "127.0.0.1", () => socket.write("GET /zeros.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        const slowUntil = Date.now() + 2_000;
        let sinceBreak = 0;
        socket.on("data", (chunk: Buffer) => {
          if (head.length < 400) head += chunk.toString("latin1", 0, Math.min(chunk.length, 400));
          received += chunk.length;
          sinceBreak += chunk.length;
          if (Date.now() < slowUntil && sinceBreak >= 1 << 20) {
            sinceBreak = 0;
            socket.pause();
            setTimeout(() => socket.resume(), 50);
          }
        });
        socket.on("close", () => resolve());
        socket.on("error", reject);
      });
    } finally {
      clearInterval(sampler);
    }
    expect(head).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(head).toContain(`Content-Length: ${BIG}\r\n`);
    const headLength = head.indexOf("\r\n\r\n") + 4;
    expect(received - headLength).toBe(BIG);
    const growth = (Math.max(peak, rss()) - before) / 1024;
    console.log(`static file of ${BIG >> 20} MiB to a slow reader: peak RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64);
  }, 120_000);
});

/** What must agree: status, body, and the headers that matter (ports and multipart boundaries set aside). */
function comparable(r: WireResponse, port: number, method: string) {
  const boundary = /boundary=([0-9a-f]+)/.exec(r.header("content-type") ?? "")?.[1];
  const norm = (text: string | undefined) => {
    let out = text?.replaceAll(`:${port}`, ":PORT");
    if (boundary) out = out?.replaceAll(boundary, "BOUNDARY");
    return out;
  };
  // Apache sends its 416 page chunked and its error pages' HEAD without a length: the length of those is not compared.
  const lengthCounts = r.status !== 416 && !(method === "HEAD" && r.status >= 300);
  // A multipart body's length grows with its boundary, which Apache makes of the time and its pid (as
  // many hex digits as the pid has): the length must match the body, whose text is compared.
  const length = r.header("content-length");
  const multipartLength = boundary && length === String(r.body.length) ? "(the body's)" : length;
  return {
    status: r.status,
    body: norm(r.body.toString("latin1")),
    "content-type": norm(r.header("content-type")),
    "content-length": lengthCounts ? multipartLength : "(not compared)",
    "content-range": r.header("content-range"),
    etag: r.header("etag"),
    "last-modified": r.header("last-modified"),
    "accept-ranges": r.header("accept-ranges"),
    location: norm(r.header("location")),
    "x-static": r.header("x-static"),
    "x-always": r.header("x-always"),
  };
}


describe("the same static site served by Apache and by wsgi-bin, response by response", () => {
  let site: string;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    site = makeSite();
    ours = await start({ args: ["--config", fixture("site/static.conf")], env: { SITE: site } });
    apache = await startApache(fixture("site/static.conf"), ["authz_core", "authz_host", "alias", "dir", "autoindex", "mime", "headers"], { SITE: site });
  }, 60_000);
  afterAll(async () => {
    await ours?.stop();
    await apache?.stop();
  });

  const etag = ETAG("hello world\n");
  const cases: [string, string, Record<string, string>?][] = [
    ["GET", "/a.txt"], ["GET", "/style.css"], ["GET", "/page.html.zzz"], ["GET", "/old.html.bak"], ["GET", "/archive.tar.gz"], ["GET", "/noext"], ["GET", "/b.bin"],
    ["HEAD", "/a.txt"], ["POST", "/a.txt"],
    ["GET", "/a.txt", { "If-None-Match": etag }], ["GET", "/a.txt", { "If-Modified-Since": LAST_MODIFIED }],
    ["GET", "/a.txt", { "If-None-Match": '"other"' }], ["GET", "/a.txt", { "If-Match": '"other"' }],
    ["GET", "/a.txt", { Range: "bytes=2-4" }], ["GET", "/b.bin", { Range: "bytes=-100" }], ["GET", "/a.txt", { Range: "bytes=6-" }],
    ["GET", "/a.txt", { Range: "bytes=0-1,6-7" }], ["GET", "/a.txt", { Range: "bytes=0-1,1-3" }], ["GET", "/a.txt", { Range: "bytes=100-200" }],
    ["GET", "/a.txt", { Range: "bytes=5-2" }], ["GET", "/a.txt", { Range: "bytes=0-1", "If-Range": '"stale"' }],
    ["HEAD", "/b.bin", { Range: "bytes=10-19" }],
    ["GET", "/"], ["GET", "/sub"], ["GET", "/sub/"], ["GET", "/sub/deeper/"], ["GET", "/noindex/"], ["GET", "/custom-index/"],
    ["GET", "/files/"], ["GET", "/files/doc.txt"], ["GET", "/files/link-out"], ["GET", "/files/link-in"], ["GET", "/linked/link-out"],
    ["GET", "/link-out/secret.txt"], ["GET", "/closed/secret.txt"], ["GET", "/lan/x.txt"], ["GET", "/local/x.txt"],
    ["GET", "/%2e%2e/outside/secret.txt"], ["GET", "/files/..%2f..%2foutside%2fsecret.txt"], ["GET", "/missing"], ["GET", "/a.txt/"],
    ["GET", "/old/x%20y?q=1"], ["GET", "/moved/deep"], ["GET", "/gone"], ["GET", "/match/doc.html"], ["PUT", "/a.txt"],
    ["GET", "/rm-query/zz"], ["GET", "/rm-query/a%20b?x=1"], ["GET", "/rm-local-query/zz?x=1"], ["GET", "/rm-local-query/%C3%BC%3f"],
    ["GET", "/rm-fragment/a%20b?q"],
    // The default handler's methods: OPTIONS of a file (its type), a listing and a missing path; POST
    // to a listing and to a missing path (404); a method it never serves on a missing path (405).
    ["OPTIONS", "/a.txt"], ["OPTIONS", "/sub/"], ["OPTIONS", "/missing"], ["POST", "/sub/"], ["POST", "/missing"],
    ["DELETE", "/missing"], ["PUT", "/sub/"],
  ];

  for (const [method, path, headers] of cases) {
    test(`${method} ${path}${headers ? ` ${JSON.stringify(headers)}` : ""}`, async () => {
      const [theirs, mine] = await Promise.all([ask(apache.port, path, headers, method), ask(ours.port, path, headers, method)]);
      expect(comparable(mine, ours.port, method)).toEqual(comparable(theirs, apache.port, method));
    });
  }

  test("a RedirectMatch whose query would take a CR LF from the path is a 500 without the header, as in Apache (AH02430)", async () => {
    const path = "/rm-segment/a%0d%0aX-Injected:%20yes";
    const [theirs, mine] = await Promise.all([ask(apache.port, path), ask(ours.port, path)]);
    for (const r of [theirs, mine]) {
      expect(r.status).toBe(500);
      expect(r.header("location")).toBeUndefined();
      expect(r.header("x-injected")).toBeUndefined();
    }
    expect(ours.stderr()).toContain(String.raw`AH02430: Response header 'Location' value of "http://elsewhere.example/?q=a\r\nX-Injected: yes" contains invalid characters`);
  });
});

describe("the command line's static-site flags serve what their directives serve", () => {
  let site: string;
  let flagArgs: string[];
  let conf: string;
  let flags: RunningServer;
  let file: RunningServer;
  beforeAll(async () => {
    site = makeSite();
    // The same host twice: by flags, and by the directives they name in a file.
    flagArgs = ["--document-root", `${site}/htdocs`, "--url-alias", `/files/=${site}/files/`, "--url-alias-match", `^/match/(.*)\\.text$=${site}/files/$1.txt`,
        "--directory-listing", "--options", "-FollowSymLinks", "--directory-index", "index.html start.html",
        "--redirect", "/old /new", "--redirect", "permanent /moved http://elsewhere.example/moved", "--redirect", "gone /gone",
        "--redirect-match", "^/match/(.*)\\.html$ /files/$1.txt", "--require", "all granted",
      "--header", 'set X-Static "from the site"', "--header", "always set X-Always yes"];
    conf = join(tempDir("wsgi-bin-flags-site-"), "site.conf");
    writeFileSync(conf, `DocumentRoot ${site}/htdocs
Alias /files/ ${site}/files/
AliasMatch ^/match/(.*)\\.text$ ${site}/files/$1.txt
Options +Indexes
Options -FollowSymLinks
DirectoryIndex index.html start.html
Redirect /old /new
Redirect permanent /moved http://elsewhere.example/moved
Redirect gone /gone
RedirectMatch ^/match/(.*)\\.html$ /files/$1.txt
<Location />
    Require all granted
</Location>
Header set X-Static "from the site"
Header always set X-Always yes
`);
    [flags, file] = await Promise.all([start({ args: flagArgs }), start({ args: ["--config", conf] })]);
  });
  afterAll(() => Promise.all([flags?.stop(), file?.stop()]));

  test("with no WSGI route, the start-up notice says so (no Python is started), and as root the warning speaks of no Python", () => {
    for (const server of [flags, file]) {
      expect(server.log()).toContain("(no Python in this process: no WSGI route).");
      if (process.getuid?.() === 0) {
        expect(server.log()).toContain("Running as root without --user: this process runs no Python, but reads what clients send as root (uid 0).");
        expect(server.log()).not.toContain("the Python application runs as root");
      }
    }
  });

  test("--document-root serves a file with Apache's ETag, Last-Modified and the --header rules", async () => {
    const r = await ask(flags.port, "/a.txt");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("hello world\n");
    expect(r.header("etag")).toBe(ETAG("hello world\n"));
    expect(r.header("last-modified")).toBe(LAST_MODIFIED);
    expect(r.header("x-static")).toBe("from the site");
  });

  test("--directory-listing lists a directory without an index, --directory-index finds start.html, --options -FollowSymLinks refuses a link", async () => {
    const listing = await ask(flags.port, "/noindex/");
    expect(listing.status).toBe(200);
    expect(listing.body.toString()).toContain('<li><a href="f.txt"> f.txt</a></li>');
    expect((await ask(flags.port, "/custom-index/")).body.toString()).toBe("<p>start</p>\n");
    expect((await ask(flags.port, "/files/link-in")).status).toBe(403);
  });

  test("--check-config lists the same routes, with the same access, options and index, for both", async () => {
    const routes = async (args: string[]) => {
      const r = await run([...args, "--check-config"]);
      expect(r.code).toBe(0);
      const block = r.stdout.slice(r.stdout.indexOf("routes, in match order:"));
      // Where each was given differs: (--redirect) against (site.conf:7).
      return block.split("\n").slice(1).filter((line) => /^ {4}\d+\. /.test(line)).map((line) => line.replace(/ {2}\([^)]*\)$/, ""));
    };
    const fromFlags = await routes(flagArgs);
    expect(fromFlags.length).toBe(7);
    expect(fromFlags).toEqual(await routes(["--config", conf]));
  });

  const cases: [string, string, Record<string, string>?][] = [
    ["GET", "/a.txt"], ["HEAD", "/a.txt"], ["GET", "/a.txt", { Range: "bytes=2-4" }], ["GET", "/a.txt", { "If-None-Match": ETAG("hello world\n") }],
    ["GET", "/"], ["GET", "/sub"], ["GET", "/sub/"], ["GET", "/noindex/"], ["GET", "/custom-index/"], ["GET", "/files/"],
    ["GET", "/files/doc.txt"], ["GET", "/files/link-in"], ["GET", "/files/link-out"], ["GET", "/link-out/secret.txt"], ["GET", "/match/doc.text"],
    ["GET", "/old/x%20y?q=1"], ["GET", "/moved/deep"], ["GET", "/gone"], ["GET", "/match/doc.html"], ["GET", "/missing"], ["PUT", "/a.txt"],
  ];
  for (const [method, path, headers] of cases) {
    test(`${method} ${path}${headers ? ` ${JSON.stringify(headers)}` : ""}: the same from flags as from the file`, async () => {
      const [fromFile, fromFlags] = await Promise.all([ask(file.port, path, headers, method), ask(flags.port, path, headers, method)]);
      expect(comparable(fromFlags, flags.port, method)).toEqual(comparable(fromFile, file.port, method));
    });
  }
});

/** The two virtual hosts' tree: a DocumentRoot each and a directory of scripts. */
function makeVhostsSite(): string {
  const site = tempDir("wsgi-bin-vhosts-");
  chmodSync(site, 0o755);
  for (const dir of ["one", "two", "scripts"]) mkdirSync(join(site, dir), { mode: 0o755 });
  writeFileSync(join(site, "one/index.html"), "<p>one</p>\n");
  writeFileSync(join(site, "two/index.html"), "<p>two</p>\n");
  writeFileSync(join(site, "scripts/app.wsgi"), readFileSync(fixture("environ.wsgi")));
  // Under DocumentRoot at a path the directory of scripts owns: never served from here.
  mkdirSync(join(site, "two/scripts"), { mode: 0o755 });
  writeFileSync(join(site, "two/scripts/missing.wsgi"), "not a script\n");
  return site;
}

describe("name-based virtual hosts with their own routes, static files, SetEnv and Header", () => {
  let site: string;
  let server: RunningServer;
  beforeAll(async () => {
    site = makeVhostsSite();
    const port = await freePort();
    server = await start({ args: ["--config", fixture("site/vhosts.conf"), "--port", String(port)], env: { SITE: site, FIXTURES, PORT: String(port) } });
  });
  afterAll(() => server?.stop());

  const as = (host: string) => ({ headers: { Host: host } });

  test("Host picks the virtual host (ServerName, ServerAlias with wildcards, any case, with a port); others get the first", async () => {
    for (const host of ["www.one.example", "ONE.example:8080", "unknown.example", "127.0.0.1"]) {
      expect(await (await fetch(`${server.url}/`, as(host))).text()).toBe("<p>one</p>\n");
    }
    for (const host of ["two.example", "a.b.two.example", "Two.Example."]) {
      expect(await (await fetch(`${server.url}/`, as(host))).text()).toBe("<p>two</p>\n");
    }
    expect(server.stderr().split("\n").filter((line) => line.startsWith("wsgi-bin: warning"))).toEqual([]);
  });

  test("each host's WSGI routes, application groups named by its ServerName, SetEnv (the main server's too) in environ", async () => {
    const one = await getJson(`${server.url}/env/x`, as("one.example"));
    expect(one["mod_wsgi.application_group"]).toBe(`www.one.example:${server.port}|/env`);
    expect(one.SITE_NAME).toBe("one");
    expect(one.EMPTY).toBe("");
    expect(one.FROM_MAIN).toBe("main");
    expect(one.SERVER_NAME).toBe("one.example");
    const two = await getJson(`${server.url}/env/x`, as("two.example"));
    expect(two["mod_wsgi.application_group"]).toBe("two");
    expect(two.SITE_NAME).toBe("two");
    expect(two.PATH_INFO).toBe("/x");
    // SetEnv never overrides what the server sets itself.
    expect(two.REQUEST_METHOD).toBe("GET");
    expect((await fetch(`${server.url}/headers`, as("two.example"))).status).toBe(404);
  });

  test("a Host without a port: SERVER_PORT and redirects take the scheme's, as Apache; the application group keeps the listener's port", async () => {
    const env = await getJson(`${server.url}/env/x`, as("one.example"));
    expect(env.SERVER_PORT).toBe("80");
    // mod_wsgi names %{RESOURCE} after whatever port Host gives (so a client could have it make an
    // interpreter per port it names); wsgi-bin names it after the port the request arrived on.
    expect(env["mod_wsgi.application_group"]).toBe(`www.one.example:${server.port}|/env`);
    expect((await getJson(`${server.url}/env/x`, as(`one.example:${server.port}`))).SERVER_PORT).toBe(String(server.port));
  });

  test("<Location> inside a route: its Require, application group, SetEnv and Header apply to that part only", async () => {
    const denied = await fetch(`${server.url}/env/private/x`, as("two.example"));
    expect(denied.status).toBe(403);
    const grouped = await fetch(`${server.url}/env/grouped`, as("two.example"));
    expect(grouped.headers.get("x-section")).toBe("grouped");
    const env = await grouped.json();
    expect(env["mod_wsgi.application_group"]).toBe("grouped");
    expect(env.SECTION).toBe("grouped");
    const plain = await fetch(`${server.url}/env/plain`, as("two.example"));
    expect(plain.headers.get("x-section")).toBeNull();
    expect((await plain.json())["mod_wsgi.application_group"]).toBe("two");
  });

  test("WSGIScriptAliasMatch and a directory of scripts: the script from the path, SCRIPT_NAME and PATH_INFO split after it", async () => {
    const matched = await getJson(`${server.url}/match/environ/rest`, as("two.example"));
    expect(matched.SCRIPT_NAME).toBe("/match/environ");
    expect(matched.PATH_INFO).toBe("/rest");
    expect(matched.SCRIPT_FILENAME).toBe(fixture("environ.wsgi"));
    expect(await (await fetch(`${server.url}/match/hello`, as("two.example"))).text()).toBe("Hello World!");
    const scripted = await getJson(`${server.url}/scripts/app.wsgi/extra/path`, as("two.example"));
    expect(scripted.SCRIPT_NAME).toBe("/scripts/app.wsgi");
    expect(scripted.PATH_INFO).toBe("/extra/path");
    expect(scripted.SCRIPT_FILENAME).toBe(join(site, "scripts/app.wsgi"));
    expect((await fetch(`${server.url}/scripts/missing.wsgi`, as("two.example"))).status).toBe(404);
  });

  test("Header set, append and unset edit the app's response; Redirect is the host's own", async () => {
    const r = await fetch(`${server.url}/headers?X-Secret=1&Cache-Control=max-age%3D60`, as("one.example"));
    expect(r.headers.get("x-site")).toBe("one");
    expect(r.headers.get("cache-control")).toBe("max-age=60, no-transform");
    expect(r.headers.get("x-secret")).toBeNull();
    const fresh = await fetch(`${server.url}/headers`, as("one.example"));
    expect(fresh.headers.get("cache-control")).toBe("no-transform");
    const redirect = await fetch(`${server.url}/old/y`, { ...as("two.example"), redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("http://two.example/env/y");
    expect((await fetch(`${server.url}/old/y`, { ...as("one.example"), redirect: "manual" })).status).toBe(404);
  });
});

describe("the two virtual hosts through Apache + mod_wsgi and through wsgi-bin, request by request", () => {
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    const site = makeVhostsSite();
    const port = await freePort();
    ours = await start({ args: ["--config", fixture("site/vhosts.conf"), "--port", String(port)], env: { SITE: site, FIXTURES, PORT: String(port) } });
    // Apache listens where its virtual hosts say: the port is both Listen's and <VirtualHost>'s.
    apache = await startApache(fixture("site/vhosts.conf"), ["authz_core", "alias", "dir", "mime", "headers", "env", "wsgi"], { SITE: site, FIXTURES }, "PORT");
  }, 60_000);
  afterAll(async () => {
    await ours?.stop();
    await apache?.stop();
  });

  const ENVIRON_KEYS = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "SCRIPT_FILENAME",
    "wsgi.url_scheme", "mod_wsgi.application_group", "SITE_NAME", "EMPTY", "FROM_MAIN", "SECTION"];
  // Host names the port, as clients do for a port other than the scheme's, except where said: the
  // application group of a Host without one differs on purpose (see the test above).
  const cases: [string, string, "with port"?][] = [
    ["one.example", "/env/x?y=1", "with port"], ["two.example", "/env/x", "with port"], ["two.example", "/env/grouped", "with port"],
    ["two.example", "/env/private/x"], ["two.example", "/match/environ/rest", "with port"], ["two.example", "/match/hello"],
    ["two.example", "/scripts/app.wsgi/extra/path", "with port"], ["two.example", "/scripts/missing.wsgi"],
    ["one.example", "/headers?X-Secret=1&Cache-Control=max-age%3D60", "with port"], ["one.example", "/headers", "with port"],
    ["two.example", "/old/y"], ["two.example", "/old/y", "with port"], ["unknown.example", "/"], ["a.b.two.example", "/"],
    ["www.one.example", "/missing"],
  ];

  function comparable(r: WireResponse, port: number) {
    const norm = (text: string | undefined) => text?.replaceAll(String(port), "PORT");
    let body: unknown = norm(r.body.toString("latin1"));
    if (r.header("content-type") === "application/json") {
      const environ = JSON.parse(r.body.toString());
      body = Object.fromEntries(ENVIRON_KEYS.map((key) => [key, norm(environ[key])]));
    }
    return {
      status: r.status,
      body,
      "content-type": r.header("content-type"),
      location: norm(r.header("location")),
      "x-site": r.header("x-site"),
      "x-section": r.header("x-section"),
      "x-secret": r.header("x-secret"),
      "cache-control": r.header("cache-control"),
    };
  }

  for (const [host, path, withPort] of cases) {
    test(`${host}${withPort ? ":PORT" : ""} ${path}`, async () => {
      const Host = (port: number) => (withPort ? `${host}:${port}` : host);
      const [theirs, mine] = await Promise.all([ask(apache.port, path, { Host: Host(apache.port) }), ask(ours.port, path, { Host: Host(ours.port) })]);
      expect(comparable(mine, ours.port)).toEqual(comparable(theirs, apache.port));
    });
  }
});

describe("ErrorDocument through Apache and through wsgi-bin, request by request", () => {
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    const site = tempDir("wsgi-bin-errordoc-");
    mkdirSync(join(site, "errors"));
    writeFileSync(join(site, "errors/404.html"), "<h1>custom 404</h1>\n");
    writeFileSync(join(site, "errors/gone.txt"), "gone for good\n");
    for (const path of [site, join(site, "errors")]) chmodSync(path, 0o755);
    const config = fixture("site/error-documents.conf");
    ours = await start({ args: ["--config", config], env: { SITE: site, FIXTURES } });
    apache = await startApache(config, ["authz_core", "alias", "mime", "wsgi"], { SITE: site, FIXTURES });
  }, 60_000);
  afterAll(async () => {
    await ours?.stop();
    await apache?.stop();
  });

  const comparable = (r: WireResponse) => ({
    status: r.status, "content-type": r.header("content-type"), location: r.header("location"), body: r.body.toString("latin1"),
  });
  for (const path of ["/nope", "/raises", "/private/x", "/gone", "/sub/nope", "/dflt/nope", "/hello", "/errors/404.html"]) {
    test(path, async () => {
      const [theirs, mine] = await Promise.all([ask(apache.port, path), ask(ours.port, path)]);
      expect(comparable(mine)).toEqual(comparable(theirs));
    });
  }

  test("wsgi-bin reads the configuration without a warning", () => {
    expect(ours.stderr()).not.toContain("warning");
  });
});
