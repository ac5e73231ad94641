// The error log (Apache's format, --error-log, --log-level) and the access log (Combined Log Format).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { APACHE_LOG_LINE, cleanupTemps, fixture, freePort, get, rawRequest, start, tempDir, type RunningServer } from "./helpers/server.ts";

afterAll(() => cleanupTemps());

const COMBINED =
  /^(\S+) - - \[(\d{2})\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "([^"]*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

describe("--error-log FILE and --access-log FILE", () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    server = await start({
      args: [
        "--log-level", "info",
        "--error-log", join(dir, "error.log"),
        "--access-log", join(dir, "access.log"),
        "--alias", `/hello=${fixture("hello.wsgi")}`,
        "--alias", `/raises=${fixture("raises.wsgi")}`,
        "--alias", `/print=${fixture("print.wsgi")}`,
        "--alias", `/nocallable=${fixture("no-callable.wsgi")}`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("the error log goes to the file, not stderr", async () => {
    expect(existsSync(join(dir, "error.log"))).toBe(true);
    const log = readFileSync(join(dir, "error.log"), "utf8");
    expect(log).toContain("listening on http://");
    expect(server.stderr()).not.toContain("listening on");
    expect(server.stderr()).not.toMatch(/\[wsgi:/);
  });

  test("every error log line is in Apache's format, tracebacks included", async () => {
    await get(`${server.url}/hello`);
    await get(`${server.url}/raises`);
    await get(`${server.url}/print`);
    await get(`${server.url}/nocallable`);
    const log = await server.waitForLog(/boom from the fixture app[\s\S]*PRINTED-TO-STDOUT[\s\S]*does not contain WSGI application/);
    const lines = log.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeGreaterThan(10);
    const bad = lines.filter((line) => !APACHE_LOG_LINE.test(line));
    expect(bad).toEqual([]);
    // The pid is the server's; levels are the ones used.
    for (const line of lines) expect(line).toContain(`[pid ${server.pid}:tid `);
    expect(log).toMatch(/\[wsgi:error\] .*Traceback \(most recent call last\):/);
    expect(log).toMatch(/\[wsgi:notice\] .*listening on/);
    expect(log).toMatch(/\[wsgi:info\] .*Loading WSGI script/);
  });

  test("the timestamp is the current local time", async () => {
    const line = server.log().split("\n").filter(Boolean).pop()!;
    const match = /^\[\w{3} (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2})\.\d{6} (\d{4})\]/.exec(line)!;
    expect(match).not.toBeNull();
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const stamp = new Date(+match[6]!, months.indexOf(match[1]!), +match[2]!, +match[3]!, +match[4]!, +match[5]!);
    expect(Math.abs(Date.now() - stamp.getTime())).toBeLessThan(120_000);
  });

  test("--log-level info shows interpreter creation and script loading", async () => {
    const log = server.log();
    expect(log).toMatch(/\[wsgi:info\] .*Create interpreter '[^']*\|\/hello'/);
    expect(log).toContain(`Loading WSGI script '${fixture("hello.wsgi")}'`);
  });

  test("print() and sys.stderr in an app reach the error log, never the response", async () => {
    const r = await get(`${server.url}/print`);
    expect(r.text).toBe("response body only");
    const log = await server.waitForLog(/WRITTEN-TO-WSGI-ERRORS marker/);
    // With the pid, and whose output it is: the application group for stdout/stderr, the alias for wsgi.errors.
    expect(log).toMatch(/\[wsgi:\w+\] \[pid \d+:tid \d+\] \[group [^\]]*\|\/print\] PRINTED-TO-STDOUT marker$/m);
    expect(log).toMatch(/\[wsgi:\w+\] \[pid \d+:tid \d+\] \[group [^\]]*\|\/print\] WRITTEN-TO-STDERR marker$/m);
    expect(log).toMatch(/\[wsgi:\w+\] \[pid \d+:tid \d+\] \[alias \/print\] WRITTEN-TO-WSGI-ERRORS marker$/m);
    expect(server.stdout()).not.toContain("PRINTED-TO-STDOUT");
    expect(server.stderr()).not.toContain("PRINTED-TO-STDOUT");
  });

  test("the access log has Combined Log Format lines with status, bytes, referer and user agent", async () => {
    await get(`${server.url}/hello?x=1`, { headers: { Referer: "http://referer.example/page", "User-Agent": "access-log-test/2.0" } });
    await get(`${server.url}/nowhere`, { headers: { "User-Agent": "access-log-test/404" } });
    await get(`${server.url}/raises`, { headers: { "User-Agent": "access-log-test/500" } });
    let text = "";
    for (let i = 0; i < 100 && !/access-log-test\/500/.test(text); i++) {
      await Bun.sleep(20);
      text = readFileSync(join(dir, "access.log"), "utf8");
    }
    const lines = text.split("\n").filter(Boolean);
    for (const line of lines) expect(line).toMatch(COMBINED);
    const hello = lines.map((l) => COMBINED.exec(l)!).find((m) => m[13] === "access-log-test/2.0")!;
    expect(hello).toBeDefined();
    expect(hello[1]).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(hello[9]).toBe("GET /hello?x=1 HTTP/1.1");
    expect(hello[10]).toBe("200");
    // %O: the bytes sent, the head's and the body's ("Hello World!"), as mod_logio counts them.
    expect(Number(hello[11])).toBeGreaterThan(12 + "HTTP/1.1 200 OK\r\n\r\n".length);
    expect(hello[12]).toBe("http://referer.example/page");
    const notFound = lines.map((l) => COMBINED.exec(l)!).find((m) => m[13] === "access-log-test/404")!;
    expect(notFound[9]).toBe("GET /nowhere HTTP/1.1");
    expect(notFound[10]).toBe("404");
    expect(notFound[12]).toBe("-");
    const failed = lines.map((l) => COMBINED.exec(l)!).find((m) => m[13] === "access-log-test/500")!;
    expect(failed[10]).toBe("500");
  });

  test("bytes outside printable ASCII are escaped as Apache's access log escapes them (\\xhh, \\t), not written as they are", async () => {
    // As Apache 2.4.71 logged the same request: "GET /caf\xc3\xa9?q=~ HTTP/1.1" ... "ev\"il\t\xc3\xbc\\z".
    const request = Buffer.concat([
      Buffer.from("GET /hello/caf"), Buffer.from([0xc3, 0xa9]), Buffer.from("?q=~ HTTP/1.1\r\nHost: a\r\nUser-Agent: escape-test\"\t"),
      Buffer.from([0xc3, 0xbc]), Buffer.from("\\z\r\nConnection: close\r\n\r\n"),
    ]);
    const response = await rawRequest(server.port, request);
    expect(response.toString("latin1")).toStartWith("HTTP/1.1 200");
    let line: string | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      await Bun.sleep(20);
      line = readFileSync(join(dir, "access.log"), "latin1").split("\n").find((l) => l.includes("escape-test"));
    }
    expect(line).toMatch(COMBINED);
    // %O is every byte of the response (it closed the connection: all of it is this one).
    expect(line).toEndWith(String.raw`"GET /hello/caf\xc3\xa9?q=~ HTTP/1.1" 200 ` + response.length + String.raw` "-" "escape-test\"\t\xc3\xbc\\z"`);
  });
});

describe("--log-level warn", () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The listening line is a notice, hidden at warn: give a port and let the harness probe it.
    const port = await freePort();
    server = await start({
      args: ["--log-level", "warn", "--port", String(port), "--alias", `/hello=${fixture("hello.wsgi")}`, "--alias", `/raises=${fixture("raises.wsgi")}`],
    });
  });
  afterAll(() => server?.stop());

  test("hides info and notice lines but keeps errors", async () => {
    expect((await get(`${server.url}/hello`)).text).toBe("Hello World!");
    expect((await get(`${server.url}/raises`)).status).toBe(500);
    const log = await server.waitForLog(/boom from the fixture app/);
    expect(log).not.toContain("Create interpreter");
    expect(log).not.toContain("Loading WSGI script");
    expect(log).not.toContain("listening on");
    expect(log).not.toMatch(/\[wsgi:(info|notice|debug)\]/);
    expect(log).toMatch(/\[wsgi:error\]/);
  });
});

describe("--access-log -", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--access-log", "-", "--alias", `/hello=${fixture("hello.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("writes the access log to stdout", async () => {
    await get(`${server.url}/hello`, { headers: { "User-Agent": "stdout-test" } });
    for (let i = 0; i < 100 && !server.stdout().includes("stdout-test"); i++) await Bun.sleep(20);
    const line = server.stdout().split("\n").find((l) => l.includes("stdout-test"))!;
    expect(line).toMatch(COMBINED);
    expect(line).toMatch(/"GET \/hello HTTP\/1\.1" 200 \d{3} /); // %O: head and body
  });
});

describe("SIGUSR1 reopens the log files (logrotate's postrotate)", () => {
  for (const processes of [1, 2]) {
    test(`${processes === 1 ? "one process" : "--processes 2: the supervisor and each child"}: new files at the old paths get every line after it`, async () => {
      const dir = tempDir();
      const errorLog = join(dir, "error.log");
      const accessLog = join(dir, "access.log");
      const server = await start({
        args: ["--error-log", errorLog, "--access-log", accessLog, "--alias", `/print=${fixture("print.wsgi")}`, "--processes", String(processes)],
      });
      try {
        await get(`${server.url}/print`, { headers: { "User-Agent": "before-rotation" } });
        await server.waitForLog(/WRITTEN-TO-WSGI-ERRORS marker/);
        for (let i = 0; i < 100 && !readFileSync(accessLog, "utf8").includes("before-rotation"); i++) await Bun.sleep(20);
        // Every process has said it listens: a child still starting would write that line into the
        // rotated file, rightly (it was written before the signal), and fail the check at the end.
        const listening = () => readFileSync(errorLog, "utf8").split(" listening on ").length - 1;
        for (let i = 0; i < 250 && listening() < processes; i++) await Bun.sleep(20);
        expect(listening()).toBe(processes);
        renameSync(errorLog, `${errorLog}.1`);
        renameSync(accessLog, `${accessLog}.1`);
        const rotated = [readFileSync(`${errorLog}.1`, "utf8"), readFileSync(`${accessLog}.1`, "utf8")];
        process.kill(server.pid, "SIGUSR1");
        const reopened = processes === 1 ? 1 : 1 + processes;
        for (let i = 0; i < 250 && (existsSync(errorLog) ? readFileSync(errorLog, "utf8").split("Caught SIGUSR1, reopened").length - 1 : 0) < reopened; i++) await Bun.sleep(20);
        expect(readFileSync(errorLog, "utf8").split("Caught SIGUSR1, reopened").length - 1).toBe(reopened);
        // Several requests, so that with two processes both are likely to serve one.
        for (let i = 0; i < 6; i++) expect((await get(`${server.url}/print`, { headers: { "User-Agent": "after-rotation" } })).status).toBe(200);
        await server.waitForLog(/WRITTEN-TO-WSGI-ERRORS marker/); // the new file: Python's lines moved too
        for (let i = 0; i < 100 && !readFileSync(accessLog, "utf8").includes("after-rotation"); i++) await Bun.sleep(20);
        expect(readFileSync(accessLog, "utf8")).toContain("after-rotation");
        expect(readFileSync(accessLog, "utf8")).not.toContain("before-rotation");
        // Nothing more went to the moved files.
        expect([readFileSync(`${errorLog}.1`, "utf8"), readFileSync(`${accessLog}.1`, "utf8")]).toEqual(rotated);
        expect(server.proc.exitCode).toBeNull();
      } finally {
        await server.stop();
      }
    });
  }
});

describe("CustomLog per <VirtualHost>", () => {
  test("each host writes its own access log; one without inherits the main server's; the default host takes the rest; a daemon group's requests are logged once, by the front; SIGUSR1 reopens them all", async () => {
    const dir = tempDir();
    const log = (name: string) => join(dir, `${name}-access.log`);
    const conf = join(dir, "site.conf");
    const hello = fixture("hello.wsgi");
    writeFileSync(conf, `CustomLog ${log("main")} combined
WSGIDaemonProcess d threads=2
<VirtualHost *:\${PORT}>
    ServerName one.test
    CustomLog ${log("one")} combined
    WSGIScriptAlias / ${hello}
</VirtualHost>
<VirtualHost *:\${PORT}>
    ServerName two.test
    WSGIScriptAlias / ${hello}
</VirtualHost>
<VirtualHost *:\${PORT}>
    ServerName three.test
    CustomLog ${log("three")} combined
    WSGIScriptAlias / ${hello} process-group=d
</VirtualHost>
`);
    const port = await freePort();
    const server = await start({ args: ["--config", conf, "--port", String(port)], env: { PORT: String(port) } });
    try {
      const ask = async (host: string, target = "/") => {
        const r = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ua-${host}\r\nConnection: close\r\n\r\n`);
        expect(r.toString("latin1")).toStartWith("HTTP/1.1 200 ");
      };
      for (const host of ["one.test", "two.test", "three.test", "other.test"]) await ask(host);
      await ask("one.test", "http://three.test/absolute"); // the target's authority chooses the host
      const lines = async (name: string, count: number) => {
        for (let i = 0; i < 100 && (existsSync(log(name)) ? readFileSync(log(name), "utf8").trim().split("\n").length : 0) < count; i++) await Bun.sleep(20);
        return readFileSync(log(name), "utf8").trim().split("\n").map((line) => line.replace(/^.*?"([^"]*)" \d+ \d+ "-" "([^"]*)"$/, "$1 $2"));
      };
      expect(await lines("one", 2)).toEqual(["GET / HTTP/1.1 ua-one.test", "GET / HTTP/1.1 ua-other.test"]);
      expect(await lines("main", 1)).toEqual(["GET / HTTP/1.1 ua-two.test"]);
      expect(await lines("three", 2)).toEqual(["GET / HTTP/1.1 ua-three.test", "GET http://three.test/absolute HTTP/1.1 ua-one.test"]);
      renameSync(log("three"), `${log("three")}.1`);
      process.kill(server.pid, "SIGUSR1");
      await server.waitForLog(/Caught SIGUSR1, reopened .*three-access\.log/);
      await ask("three.test");
      expect(await lines("three", 1)).toEqual(["GET / HTTP/1.1 ua-three.test"]);
    } finally {
      await server.stop();
    }
  });
});

describe("a path's bytes in the error log", () => {
  test("are escaped as Apache escapes them (\\n, \\xhh, \\\\), so %0a cannot write a line of its own", async () => {
    const dir = tempDir();
    const log = join(dir, "error.log");
    const server = await start({ args: ["--document-root", dir, "--require", "all denied", "--error-log", log] });
    try {
      // As Apache 2.4.71 logged the same path: "...AH00128: File does not exist: /tmp/seif/docroot/x\nforged\x1b[31m\xc3\xbc\\"\tt".
      const r = await get(`${server.url}/x%0a[Tue Nov 24 15:20:00.000000 2026] [wsgi:emerg] forged%1b[31m%C3%BC%5C%22%09t`);
      expect(r.status).toBe(403);
      let lines: string[] = [];
      for (let i = 0; i < 100 && !lines.some((line) => line.includes("AH01630")); i++, await Bun.sleep(20)) lines = readFileSync(log, "latin1").split("\n");
      const denied = lines.filter((line) => line.includes("AH01630"));
      expect(denied).toHaveLength(1);
      expect(denied[0]).toEndWith(String.raw`AH01630: client denied by server configuration: ${dir}/x\n[Tue Nov 24 15:20:00.000000 2026] [wsgi:emerg] forged\x1b[31m\xc3\xbc\\"\tt`);
      expect(lines.filter((line) => line.includes("forged"))).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});
