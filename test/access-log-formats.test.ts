// The access log's formats (mod_log_config, mod_logio): the same configuration file, with three
// CustomLogs (a format with nearly every directive, one with env=, combined), served by Apache +
// mod_wsgi and by wsgi-bin, the same requests sent to both, and the lines compared field by field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { cleanupTemps, FIXTURES, fixture, get, run, sleep, start, tempDir } from "./helpers/server.ts";
import { exchange, request, WireClient } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

/** The fields of site/log-formats.conf's "detailed" format, in order. */
const FIELDS = [
  "%a", "%{c}a", "%A", "%B", "%b", "%{sid}C", "%{VIA_SETENV}e", "%{TAGGED}e", "%f", "%h", "%H", "%{User-agent}i", "%{X-Twice}i",
  "%k", "%l", "%L", "%m", "%{note}n", "%{Content-Type}o", "%{X-Out}o", "%{Set-Cookie}o", "%p", "%{canonical}p", "%{local}p",
  "%{remote}p", "%P", "%{pid}P", "%{tid}P", "%q", "%r", "%R", "%s", "%>s", "%<s", "%t", "%{%Y-%m-%d %H:%M:%S %z}t",
  "%{begin:%d/%b/%Y}t", "%{end:sec}t", "%{sec}t", "%{msec}t", "%{usec}t", "%{msec_frac}t", "%{usec_frac}t", "%D", "%T",
  "%{ms}T", "%{us}T", "%{s}T", "%u", "%U", "%v", "%V", "%X", "%I", "%O", "%S", "%404,500{User-agent}i", "%!200,304{Referer}i",
  "%%", "tab\\there",
];

const NUMBER = /^\d+$/;
/**
 * Fields that must differ between the two servers (times, process and thread ids, the client's and the
 * server's ports, the response head's size): compared by their shape. Every other field must be equal.
 */
const SHAPES: Record<string, RegExp> = {
  "%{local}p": NUMBER,
  "%{remote}p": NUMBER,
  "%P": NUMBER,
  "%{pid}P": NUMBER,
  "%{tid}P": NUMBER,
  "%L": /^[A-Za-z0-9+/]{11}$/,
  "%t": /^\[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]$/,
  "%{%Y-%m-%d %H:%M:%S %z}t": /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/,
  "%{begin:%d/%b/%Y}t": /^\d{2}\/[A-Z][a-z]{2}\/\d{4}$/,
  "%{end:sec}t": /^\d{10}$/,
  "%{sec}t": /^\d{10}$/,
  "%{msec}t": /^\d{13}$/,
  "%{usec}t": /^\d{16}$/,
  "%{msec_frac}t": /^\d{3}$/,
  "%{usec_frac}t": /^\d{6}$/,
  "%D": NUMBER,
  "%T": NUMBER,
  "%{ms}T": NUMBER,
  "%{us}T": NUMBER,
  "%{s}T": NUMBER,
  "%O": NUMBER,
  "%S": NUMBER,
};

/** The requests, each with a name, on connections as listed: the first two share one (%k, %X). */
const KEEP_ALIVE = [
  ["page", request("/app/page?x=1", "User-Agent: tagged-1\r\nReferer: http://from.example/\r\nCookie: a=1; sid = s3cret ; b=2\r\nX-Twice: one\r\nX-Twice: two\r\n")],
  ["app 404", request("/app/missing?status=404&out=gone", "User-Agent: tagged-2\r\nReferer: http://from.example/\r\n")],
] as const;
const ALONE = [
  ["no route", request("/nowhere/at/all", "User-Agent: plain\r\nConnection: close\r\n")],
  ["post", "POST /app/post HTTP/1.1\r\nHost: test\r\nUser-Agent: poster\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello=world"],
  ["head", request("/app/head", "User-Agent: header\r\nConnection: close\r\n", "HEAD")],
  ["app 500", request("/app/fail?status=500&out=x%20y", "User-Agent: failing\r\nConnection: close\r\n")],
  ["escapes", request("/app/caf%C3%A9/\xc3\xbc?q=%22&r=\"", "User-Agent: ev\"il\t\xc3\xbc\\z\r\nCookie: sid=a\"b\r\nConnection: close\r\n")],
  ["HTTP/1.0", request("/app/old", "User-Agent: tagged-old\r\n", "GET", "HTTP/1.0")],
] as const;
const NAMES = [...KEEP_ALIVE, ...ALONE].map(([name]) => name);

/**
 * Every request in order. A response can reach the client before its server has written the log line
 * (Apache logs after the response, on the connection's thread), so each request on a connection of its
 * own waits for the line of the one before: the lines are compared by position.
 */
async function sendAll(port: number, detailedLog: string): Promise<void> {
  const client = new WireClient(port);
  for (const [, text] of KEEP_ALIVE) {
    await client.send(text);
    await client.response();
  }
  client.close();
  let sent = KEEP_ALIVE.length;
  for (const [, text] of ALONE) {
    await lines(detailedLog, sent);
    await exchange(port, text);
    sent++;
  }
}

async function lines(file: string, count: number): Promise<string[]> {
  let found: string[] = [];
  for (let i = 0; i < 100; i++) {
    found = existsSync(file) ? readFileSync(file, "latin1").split("\n").filter(Boolean) : [];
    if (found.length >= count) break;
    await sleep(50);
  }
  return found;
}

describe("CustomLog formats through Apache + mod_wsgi and through wsgi-bin", () => {
  let both: BothServers;
  let logs: string;
  const log = (name: string, who: string) => join(logs, `${name}-${who}.log`);

  beforeAll(async () => {
    logs = tempDir();
    chmodSync(logs, 0o777);
    const modules = ["authz_core", "alias", "mime", "env", "setenvif", "wsgi"];
    both = await startBoth(fixture("site/log-formats.conf"), modules, { FIXTURES, LOGS: logs }, { ours: { WHO: "ours" }, apache: { WHO: "apache" } });
    await sendAll(both.apache.port, log("detailed", "apache"));
    await sendAll(both.ours.port, log("detailed", "ours"));
  }, 90_000);
  afterAll(() => both?.stop(), 30_000);

  test("the detailed format: one line per request, every field as Apache writes it", async () => {
    const theirs = await lines(log("detailed", "apache"), NAMES.length);
    const mine = await lines(log("detailed", "ours"), NAMES.length);
    expect(theirs.length).toBe(NAMES.length);
    expect(mine.length).toBe(NAMES.length);
    const differences: string[] = [];
    theirs.forEach((line, index) => {
      const a = line.split("|");
      const b = mine[index]!.split("|");
      expect(a.length).toBe(FIELDS.length);
      expect(b.length).toBe(FIELDS.length);
      FIELDS.forEach((field, i) => {
        const shape = SHAPES[field];
        const same = shape ? shape.test(a[i]!) && shape.test(b[i]!) : a[i] === b[i];
        if (!same) differences.push(`${NAMES[index]}: ${field}: Apache '${a[i]}', wsgi-bin '${b[i]}'`);
      });
    });
    expect(differences).toEqual([]);
  });

  test("ports and times say what they should: the server's own port, a duration, the time now", async () => {
    const mine = (await lines(log("detailed", "ours"), NAMES.length)).map((line) => line.split("|"));
    const at = (field: string) => FIELDS.indexOf(field);
    for (const fields of mine) {
      expect(fields[at("%{local}p")]).toBe(String(both.ours.port));
      expect(Number(fields[at("%{sec}t")])).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(Number(fields[at("%{usec}t")])).toBeLessThanOrEqual(Number(fields[at("%{end:sec}t")]) * 1e6 + 1e6);
      expect(Number(fields[at("%D")])).toBeLessThan(30_000_000);
      expect(fields[at("%P")]).toBe(String(both.ours.pid));
      expect(Number(fields[at("%S")])).toBe(Number(fields[at("%I")]) + Number(fields[at("%O")]));
    }
  });

  test("env=TAGGED: only the requests SetEnvIf tagged, in their own format, in their own file", async () => {
    const theirs = await lines(log("tagged", "apache"), 3);
    expect(theirs).toHaveLength(3);
    expect(theirs[0]).toBe('200 /app/page?x=1 yes "tagged-1"');
    expect(await lines(log("tagged", "ours"), 3)).toEqual(theirs);
  });

  test("combined, beside them: the same lines but for the time and the response head's size", async () => {
    const strip = (line: string) => line.replace(/\[[^\]]+\]/, "[time]").replace(/^(.*" \d{3}) \d+ /, "$1 N ");
    const theirs = await lines(log("combined", "apache"), NAMES.length);
    expect(theirs).toHaveLength(NAMES.length);
    expect((await lines(log("combined", "ours"), NAMES.length)).map(strip)).toEqual(theirs.map(strip));
  });
});

describe("--access-log-format", () => {
  test("a nickname Debian's Apache defines, and a format of one's own", async () => {
    const dir = tempDir();
    const common = await start({ args: ["--alias", `/hello=${fixture("hello.wsgi")}`, "--access-log", join(dir, "common.log"), "--access-log-format", "common"] });
    const own = await start({ args: ["--server-name", "logged.example", "--alias", `/hello=${fixture("hello.wsgi")}`, "--access-log", join(dir, "own.log"), "--access-log-format", "%m %U%q %>s %B %{X-Test}i %v"] });
    try {
      await get(`${common.url}/hello?a=b`);
      await get(`${own.url}/hello?a=b`, { headers: { "X-Test": "given" } });
      expect((await lines(join(dir, "common.log"), 1))[0]).toMatch(/^\S+ - - \[[^\]]+\] "GET \/hello\?a=b HTTP\/1\.1" 200 \d+$/);
      expect(await lines(join(dir, "own.log"), 1)).toEqual(["GET /hello?a=b 200 12 given logged.example"]);
    } finally {
      await common.stop();
      await own.stop();
    }
  });

  test("combined's own writer and the compiled format write the same line", async () => {
    // `%q` is empty without a query: the same format, but not the combined string, so compiled.
    const dir = tempDir();
    const args = (file: string) => ["--server-name", "same.example", "--alias", `/hello=${fixture("hello.wsgi")}`, "--access-log", join(dir, file)];
    const fast = await start({ args: [...args("fast.log"), "--access-log-format", "combined"] });
    const compiled = await start({ args: [...args("compiled.log"), "--access-log-format", '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"%q'] });
    try {
      const ask = request("/hello/x%41", "User-Agent: same \"agent\"\r\nReferer: http://r.example/\r\nConnection: close\r\n");
      await exchange(fast.port, ask);
      await exchange(compiled.port, ask);
      const untimed = (line: string) => line.replace(/\[[^\]]+\]/, "[time]");
      const [line] = await lines(join(dir, "fast.log"), 1);
      expect(line).toMatch(/^\S+ - - \[[^\]]+\] "GET \/hello\/x%41 HTTP\/1\.1" 200 \d{3} "http:\/\/r\.example\/" "same \\"agent\\""$/);
      expect((await lines(join(dir, "compiled.log"), 1)).map(untimed)).toEqual([untimed(line!)]);
    } finally {
      await fast.stop();
      await compiled.stop();
    }
  });

  test("an unknown directive fails the start, in Apache's words", async () => {
    const result = await run(["--alias", `/hello=${fixture("hello.wsgi")}`, "--access-log", "-", "--access-log-format", "%h %Y"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--access-log-format: Unrecognized LogFormat directive %Y");
  });

  test("without --access-log it is refused", async () => {
    const result = await run(["--alias", `/hello=${fixture("hello.wsgi")}`, "--access-log-format", "common"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("there is no --access-log");
  });
});

describe("a format Apache refuses", () => {
  test("LogFormat with an unknown directive: the start fails naming it and where it is written", async () => {
    const dir = tempDir();
    const conf = join(dir, "site.conf");
    await Bun.write(conf, `Listen 127.0.0.1:0\nLogFormat "%h %{X}Y" broken\nWSGIScriptAlias /hello ${fixture("hello.wsgi")}\n`);
    const result = await run(["--config", conf, "--check-config"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/site\.conf:2: Unrecognized LogFormat directive %Y/);
  });

  test("CustomLog with a format of its own: the same", async () => {
    const dir = tempDir();
    const conf = join(dir, "site.conf");
    await Bun.write(conf, `Listen 127.0.0.1:0\nCustomLog ${dir}/access.log "%h %>s %J"\n`);
    const result = await run(["--config", conf, "--check-config"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/site\.conf:2: Unrecognized LogFormat directive %J/);
  });
});

describe("what wsgi-bin cannot know", () => {
  test("trailers (%{X}^ti, %{X}^to): a warning naming them at start, written as -", async () => {
    const dir = tempDir();
    const conf = join(dir, "site.conf");
    await Bun.write(conf, `Listen 127.0.0.1:0\nCustomLog ${dir}/access.log "%h %{Foo}^ti %{Bar}^to %>s"\nWSGIScriptAlias /hello ${fixture("hello.wsgi")}\n`);
    const result = await run(["--config", conf, "--check-config"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/site\.conf:2: CustomLog \S+access\.log: %\{Foo\}\^ti, %\{Bar\}\^to: trailers are not kept by wsgi-bin: written as "-"/);
  });
});
