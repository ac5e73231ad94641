// --config FILE (Apache httpd.conf syntax), -D, --check-config and --strict, against the real
// binary: what a configuration parses into (--check-config's account of it), the warnings and errors
// it earns (with file:line), and requests served through it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemps, fixture, freePort, get, getJson, rawRequest, run, start, tempDir } from "./helpers/server.ts";

const CONFIGS = fixture("config");
const config = (name: string) => join(CONFIGS, name);

afterAll(cleanupTemps);

/** The lines of --check-config's "routes, in match order" list for the block that starts with `heading`. */
function routesOf(output: string, heading: string): string[] {
  const block = output.slice(output.indexOf(heading));
  const start = block.indexOf("routes, in match order:");
  const lines: string[] = [];
  for (const line of block.slice(start).split("\n").slice(1)) {
    const match = /^ {4}\d+\. (.*)$/.exec(line);
    if (!match) break;
    lines.push(match[1]!);
  }
  return lines;
}

const warnings = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("wsgi-bin: warning: "));

/** A fresh configuration file in a temporary directory; its scripts are the fixtures'. */
function writeConfig(text: string, name = "site.conf", dir = tempDir("wsgi-bin-config-")): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("a Django-style virtual host (daemon process group, virtualenv, static and media Aliases)", () => {
  const venv = join(tempDir("wsgi-bin-django-venv-"), "venv");
  const logs = tempDir("wsgi-bin-django-logs-");
  const env = { VENV: venv, LOGS: logs };
  const site = config("django/site.conf");
  const project = config("django/project");

  test("--check-config shows the listener, the daemon group, and the routes in match order", async () => {
    const r = await run(["--config", site, "--check-config"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Configuration: ${site}\n`);
    expect(r.stdout).toMatch(/Listeners:\n {2}0\.0\.0\.0:8080 http {2}\(.*site\.conf:4\)/);
    expect(r.stdout).toContain(`  example.com: processes=2 threads=4 python-home=${venv} python-path=${project} graceful-timeout=30`);
    expect(r.stdout).toContain("(WSGIRestrictEmbedded On)");
    expect(r.stdout).toContain("<VirtualHost *:8080> www.example.com (default for port 8080)");
    expect(r.stdout).toContain("  ServerAlias example.com\n");
    expect(r.stdout).toContain(`  ErrorLog ${logs}/error.log, LogLevel info`);
    expect(r.stdout).toContain(`  CustomLog ${logs}/access.log combined`);
    // Alias is mod_alias's, which runs before mod_wsgi: the static mappings come first.
    const routes = routesOf(r.stdout, "<VirtualHost *:8080> www.example.com");
    expect(routes).toHaveLength(3);
    expect(routes[0]).toStartWith(`static /static/ -> ${project}/static/; access granted (Require all granted); Options FollowSymLinks;`);
    expect(routes[1]).toStartWith(`static /media/ -> ${project}/media/; access granted (Require all granted); Options FollowSymLinks;`);
    expect(routes[2]).toStartWith(`wsgi / -> ${project}/mysite/wsgi.py; process group example.com; application group %{GLOBAL} (the main interpreter); callable application;`);
    // <Files wsgi.py> inside <Directory project/mysite> grants the script.
    expect(routes[2]).toMatch(/access granted \(Require all granted\) {2}\(.*site\.conf:14\)$/);
    // Everything in it is served: nothing to warn about.
    expect(r.stderr).toBe("");
  });

  test("serves the project through Django in its daemon group's virtualenv, two processes", async () => {
    const base = "/usr/bin/python3";
    if (Bun.spawnSync([base, "-c", "import django"], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) {
      throw new Error("/usr/bin/python3 cannot import django: apt-get install python3-django (as .ci/run does)");
    }
    const made = Bun.spawnSync([base, "-m", "venv", "--system-site-packages", "--without-pip", venv], { stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`venv creation failed: ${made.stderr}`);
    // ErrorLog is a file here, so the harness finds the server by its port.
    const port = await freePort();
    const server = await start({ args: ["--config", site, "--port", String(port)], env, timeoutMs: 60_000 });
    try {
      const where = await getJson(`${server.url}/where/`, { headers: { Host: "www.example.com" } });
      expect(where.prefix).toBe(venv); // python-home=
      expect(where.path).toContain(project); // python-path=
      expect(where.process_group).toBe("example.com");
      expect(where.application_group).toBe(""); // %{GLOBAL}
      expect(where.multiprocess).toBe(true);
      expect(where.multithread).toBe(true);
      expect(where.script_name).toBe("");
      expect(where.url).toBe("http://www.example.com/where/");
      // The static and media Aliases are served by the front, not by Django: files with their types.
      const css = await fetch(`${server.url}/static/style.css`, { headers: { Host: "www.example.com" } });
      expect(css.status).toBe(200);
      expect(css.headers.get("content-type")).toBe("text/css");
      expect(await css.text()).toBe(readFileSync(join(project, "static/style.css"), "utf8"));
      expect(await (await fetch(`${server.url}/media/readme.txt`)).text()).toBe(readFileSync(join(project, "media/readme.txt"), "utf8"));
      expect((await fetch(`${server.url}/media/`)).status).toBe(403); // Options -Indexes
      expect((await fetch(`${server.url}/static/missing.css`)).status).toBe(404);
      const errorLog = readFileSync(join(logs, "error.log"), "utf8");
      // The front on the port loads no Python (WSGIRestrictEmbedded On); the group's two processes do.
      // Start-up lines are the main server's (it has no ErrorLog: stderr); the group, defined in the
      // virtual host, writes its processes' lines to the host's ErrorLog, as mod_wsgi does.
      expect(server.stderr()).toContain(`starting 1 process on port ${port}, daemon process group 'example.com' (2 processes)`);
      expect(server.stderr()).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+\/ \(no Python in this process: every route runs in a daemon process group\)/);
      expect(errorLog).not.toContain("starting 1 process");
      expect(errorLog.match(/Daemon process \d+ of group 'example\.com' \(Python 3\.\d+\.\d+\) listening on unix:\S+ with 4 threads/g)).toHaveLength(2);
      await Bun.sleep(100);
      expect(readFileSync(join(logs, "access.log"), "utf8")).toMatch(/^127\.0\.0\.1 - - \[.*\] "GET \/where\/ HTTP\/1\.1" 200 \d+ "-" ".*"$/m);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 90_000);
});

describe("two name-based virtual hosts", () => {
  test("--check-config shows both, the first as the port's default, each with the main server's alias after its own", async () => {
    const r = await run(["--config", config("two-vhosts.conf"), "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("<VirtualHost *:8080> first.example (default for port 8080)");
    expect(r.stdout).toMatch(/<VirtualHost \*:8080> second\.example {2}\(.*two-vhosts\.conf:12\)/);
    expect(r.stdout).toContain("  ServerAlias *.second.example\n");
    const first = routesOf(r.stdout, "<VirtualHost *:8080> first.example");
    expect(first.map((line) => line.split(" ->")[0])).toEqual(["wsgi /env", "wsgi /shared"]);
    expect(first[0]).toContain("application group first;");
    expect(first[1]).toContain("application group %{RESOURCE} = 'first.example:8080|/shared'");
    const second = routesOf(r.stdout, "<VirtualHost *:8080> second.example");
    expect(second.map((line) => line.split(" ->")[0])).toEqual(["wsgi /hello", "wsgi /shared"]);
    expect(second[1]).toContain("'second.example:8080|/shared'");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Served: http 0\.0\.0\.0:8080 \(first\.example, second\.example\); embedded group: 1 process, 8 threads\.$/m);
  });

  test("serves each virtual host by Host, the first to a Host neither names, with its ServerName in %{RESOURCE}", async () => {
    const server = await start({ args: ["--config", config("two-vhosts.conf")] });
    try {
      const env = await getJson(`${server.url}/env/x`);
      expect(env["mod_wsgi.application_group"]).toBe("first");
      expect(env.PATH_INFO).toBe("/x");
      expect(await get(`${server.url}/shared`)).toMatchObject({ status: 200, text: "Hello World!" });
      expect((await get(`${server.url}/hello`)).status).toBe(404);
      const second = { headers: { Host: "www.second.example" } };
      expect(await get(`${server.url}/hello`, second)).toMatchObject({ status: 200, text: "Hello World!" });
      expect((await get(`${server.url}/env/x`, second)).status).toBe(404);
      expect(warnings(server.stderr())).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe("Include and IncludeOptional", () => {
  test("wildcards take files in alphabetical order, skip dot files, and paths are relative to the including file", async () => {
    const main = config("include/main.conf");
    const r = await run(["--config", main, "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`(and 3 included: ${config("include/sites/10-first.conf")}, ${config("include/sites/20-second.conf")}, ${config("include/sub dir/extra.conf")})`);
    const routes = routesOf(r.stdout, "Main server");
    expect(routes.map((line) => line.split(";")[0])).toEqual([
      `wsgi /first -> ${fixture("hello.wsgi")}`,
      `wsgi /second -> ${fixture("environ.wsgi")}`,
      `wsgi /extra -> ${fixture("hello.wsgi")}`,
    ]);
    expect(routes[0]).toMatch(/\(.*include\/sites\/10-first\.conf:2\)$/);
    expect(routes[2]).toMatch(/\(.*include\/sub dir\/extra\.conf:1\)$/);
    expect(r.stdout).not.toContain("/hidden");
  });

  test("the included routes are served", async () => {
    const server = await start({ args: ["--config", config("include/main.conf")] });
    try {
      expect(await get(`${server.url}/first`)).toMatchObject({ status: 200, text: "Hello World!" });
      expect((await getJson(`${server.url}/second`))["mod_wsgi.application_group"]).toBe("second");
      expect(await get(`${server.url}/extra`)).toMatchObject({ status: 200, text: "Hello World!" });
      expect((await get(`${server.url}/hidden`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  test("Include of a wildcard matching nothing, of a missing file, or of itself is an error naming the line", async () => {
    const dir = tempDir("wsgi-bin-config-");
    mkdirSync(join(dir, "empty"));
    const cases: [string, RegExp][] = [
      ["Listen 8080\nInclude empty/*.conf\n", /site\.conf:2: Include: no matches for the wildcard '\*\.conf' in '.*empty' \(IncludeOptional allows that\)/],
      ["Listen 8080\n\nInclude missing.conf\n", /site\.conf:3: Include: could not open configuration file .*missing\.conf: No such file or directory/],
      ["Include site.conf\n", /site\.conf:1: Include loop: .*site\.conf -> .*site\.conf/],
    ];
    for (const [text, message] of cases) {
      const r = await run(["--config", writeConfig(text, "site.conf", dir), "--check-config"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });

  test("ServerRoot makes Include and relative paths start from it", async () => {
    const root = tempDir("wsgi-bin-root-");
    mkdirSync(join(root, "conf.d"));
    writeFileSync(join(root, "conf.d", "app.conf"), `WSGIScriptAlias /rooted ${fixture("hello.wsgi")}\nErrorLog logs/error.log\n`);
    const main = writeConfig(`ServerRoot ${root}\nListen 8080\nInclude conf.d/*.conf\n`);
    const r = await run(["--config", main, "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wsgi /rooted -> ${fixture("hello.wsgi")}`);
    expect(r.stdout).toContain(`ErrorLog ${root}/logs/error.log`);
  });
});

describe("Define, ${VAR}, <IfDefine> and -D, <IfModule>", () => {
  test("Define'd and environment variables are substituted; an undefined one is a warning with its line", async () => {
    const r = await run(["--config", config("define.conf"), "--check-config"], { env: { WSGI_BIN_TEST_SUFFIX: "xyz" } });
    expect(r.code).toBe(0);
    const routes = routesOf(r.stdout, "Main server");
    expect(routes[0]).toStartWith(`wsgi /env -> ${fixture("environ.wsgi")};`);
    expect(routes[0]).toContain("application group shared-xyz;");
    // After UnDefine SCRIPTS, ${SCRIPTS} stays as written, and is reported.
    expect(routes[1]).toContain("/${SCRIPTS}/hello.wsgi");
    expect(warnings(r.stderr)).toEqual([
      expect.stringMatching(/define\.conf:6: config variable \$\{WSGI_BIN_NOT_DEFINED_ANYWHERE\} is not defined$/),
      expect.stringMatching(/define\.conf:8: config variable \$\{SCRIPTS\} is not defined$/),
      expect.stringMatching(/define\.conf:8: WSGIScriptAlias: the WSGI script '.*\/\$\{SCRIPTS\}\/hello\.wsgi' does not exist$/),
    ]);
  });

  test("a substituted application group is the one requests run in", async () => {
    const server = await start({ args: ["--config", config("define.conf")], env: { WSGI_BIN_TEST_SUFFIX: "from-env" } });
    try {
      expect((await getJson(`${server.url}/env`))["mod_wsgi.application_group"]).toBe("shared-from-env");
    } finally {
      await server.stop();
    }
  });

  test("-D NAME (and -DNAME) selects <IfDefine NAME>; without it <IfDefine !NAME> holds", async () => {
    const prod = await run(["--config", config("ifdefine.conf"), "--check-config"]);
    const dev = await run(["--config", config("ifdefine.conf"), "-D", "DEV", "--check-config"]);
    const devJoined = await run(["--config", config("ifdefine.conf"), "-DDEV", "--check-config"]);
    for (const r of [prod, dev, devJoined]) {
      expect(r.code).toBe(0);
      // The false <IfModule mod_proxy.c> body is never read: no warning for ProxyPass or the non-directive.
      expect(r.stderr).toBe("");
      expect(routesOf(r.stdout, "Main server").map((line) => line.split(" ->")[0])).toEqual(["wsgi /app", "wsgi /noproxy"]);
    }
    expect(routesOf(prod.stdout, "Main server")[0]).toContain("application group prod;");
    expect(routesOf(dev.stdout, "Main server")[0]).toContain("application group dev;");
    expect(devJoined.stdout).toBe(dev.stdout);
  });

  test("served with -D DEV, the <IfDefine DEV> route answers", async () => {
    const server = await start({ args: ["--config", config("ifdefine.conf"), "-D", "DEV"] });
    try {
      expect((await getJson(`${server.url}/app`))["mod_wsgi.application_group"]).toBe("dev");
      expect(await get(`${server.url}/noproxy`)).toMatchObject({ status: 200, text: "Hello World!" });
    } finally {
      await server.stop();
    }
  });
});

describe("continuations, quoting and comments", () => {
  test("are read as httpd reads them", async () => {
    const r = await run(["--config", config("quoting/site.conf"), "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0\.0\.0\.0:8080 http {2}\(.*quoting\/site\.conf:2\)/); // Listen \ 8080
    expect(r.stdout).toContain('  SetEnv GREETING "say \\"hi\\" to C:\\\\"');
    const routes = routesOf(r.stdout, "Main server");
    expect(routes.map((line) => line.split(";")[0])).toEqual([
      `wsgi /spaced -> ${config("quoting/my scripts/hello world.wsgi")}`,
      `wsgi /continued -> ${fixture("environ.wsgi")}`,
      `wsgi /single -> ${fixture("environ.wsgi")}`,
    ]);
    expect(routes[1]).toContain("application group continued;");
    expect(routes[1]).toMatch(/quoting\/site\.conf:9\)$/);
    expect(routes[2]).toContain("application group single quoted;");
    expect(r.stdout).not.toContain("commented-out");
    expect(r.stderr).toBe("");
  });

  test("a quoted path with spaces and a continued directive serve", async () => {
    const server = await start({ args: ["--config", config("quoting/site.conf")] });
    try {
      expect(await get(`${server.url}/spaced`)).toMatchObject({ status: 200, text: "Hello World!" });
      expect((await getJson(`${server.url}/continued`))["mod_wsgi.application_group"]).toBe("continued");
      expect((await getJson(`${server.url}/single`))["mod_wsgi.application_group"]).toBe("single quoted");
    } finally {
      await server.stop();
    }
  });
});

describe("configuration errors name the file, the line and the problem, and nothing starts", () => {
  const hello = fixture("hello.wsgi");
  const cases: [string, string, RegExp][] = [
    ["an unclosed section", `Listen 8080\n<VirtualHost *:8080>\n  WSGIScriptAlias / ${hello}\n`, /site\.conf:2: <VirtualHost> section is never closed: expected <\/VirtualHost> before the end of the file/],
    ["a mismatched closing tag", `<Directory /srv>\n  Require all granted\n</Location>\n`, /site\.conf:3: expected <\/Directory> \(for the section opened at line 1\) but saw <\/Location>/],
    ["a closing tag with no section", `Listen 8080\n</Directory>\n`, /site\.conf:2: <\/Directory> without a matching <Directory> section/],
    ["a section missing its >", `<Directory /srv\n</Directory>\n`, /site\.conf:1: <Directory> directive missing closing '>'/],
    ["an unterminated quote", `Listen 8080\nWSGIScriptAlias / "${hello}\n`, /site\.conf:2: unterminated double quote/],
    ["a comment after a directive (httpd has none)", `Listen 8080 # the port\n`, /site\.conf:1: Listen takes 1 to 2 arguments \(Listen \[ADDRESS:\]PORT \[PROTOCOL\]\), got 4: 8080 # the port/],
    ["a bad port", `Listen 80x\n`, /site\.conf:1: Listen's port wants a whole number from 0 to 65535, got '80x'/],
    ["Require outside a section", `Require all granted\n`, /site\.conf:1: Require is not allowed at server level \(outside any section\); it belongs inside <Directory> or inside <Files> or inside <Location>/],
    ["Listen inside a virtual host", `<VirtualHost *:80>\n  Listen 80\n</VirtualHost>\n`, /site\.conf:2: Listen is not allowed inside <VirtualHost>; it belongs at server level/],
    ["a nested virtual host", `<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n`, /site\.conf:2: <VirtualHost> cannot occur inside <VirtualHost>/],
    ["a bad WSGIScriptAlias option", `WSGIScriptAlias / ${hello} processgroup=x\n`, /site\.conf:1: WSGIScriptAlias: invalid option 'processgroup'/],
    ["a bad WSGIDaemonProcess number", `WSGIDaemonProcess app threads=many\n`, /site\.conf:1: WSGIDaemonProcess app threads= wants a whole number from 1 to 1024, got 'many'/],
    ["an unknown WSGIDaemonProcess option", `WSGIDaemonProcess app colour=red\n`, /site\.conf:1: WSGIDaemonProcess app: invalid option 'colour'/],
    ["a bad On/Off", `WSGIPassAuthorization yes\n`, /site\.conf:1: WSGIPassAuthorization must be On or Off, got 'yes'/],
    ["a bad regular expression", `WSGIScriptAliasMatch ^/(a ${hello}\n`, /site\.conf:1: WSGIScriptAliasMatch: invalid regular expression '\^\/\(a'/],
  ];
  for (const [name, text, message] of cases) {
    test(name, async () => {
      const r = await run(["--config", writeConfig(text), "--port", "0"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^wsgi-bin: error: /m);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain("listening on");
      expect(r.stdout).toBe("");
    });
  }

  test("an error in an included file names that file and its line", async () => {
    const dir = tempDir("wsgi-bin-config-");
    writeConfig("# fine so far\nWSGIScriptAlias /x\n", "broken.conf", dir);
    const r = await run(["--config", writeConfig("Listen 8080\nInclude broken.conf\n", "site.conf", dir), "--check-config"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.conf:2: WSGIScriptAlias takes 2 to 6 arguments/);
  });

  test("a missing --config file is an error", async () => {
    const r = await run(["--config", "/nonexistent/site.conf"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot read configuration file /nonexistent/site.conf: ENOENT");
  });
});

describe("directives wsgi-bin does not implement", () => {
  test("are warnings with file:line, and the server serves the rest", async () => {
    const server = await start({ args: ["--config", config("unknown.conf")] });
    try {
      expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
      expect(warnings(server.stderr())).toEqual([
        expect.stringMatching(/unknown\.conf:4: FrobnicateRequests: not implemented by wsgi-bin: ignored$/),
        expect.stringMatching(/unknown\.conf:5: <Proxy> sections are not implemented by wsgi-bin: the 1 directives inside are ignored$/),
      ]);
    } finally {
      await server.stop();
    }
  });

  test("are fatal with --strict: nothing starts", async () => {
    const r = await run(["--config", config("unknown.conf"), "--strict", "--port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown\.conf:4: FrobnicateRequests: not implemented/);
    expect(r.stderr).toContain("wsgi-bin: --strict: 2 configuration warnings are errors");
    expect(r.stderr).not.toContain("listening on");
  });

  test("--strict passes a configuration with nothing to warn about", async () => {
    const r = await run(["--config", config("include/main.conf"), "--strict", "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  });

  test("AllowOverride None is what wsgi-bin does (no .htaccess is read): no warning; All is one", async () => {
    const hello = fixture("hello.wsgi");
    const none = await run(["--config", writeConfig(`WSGIScriptAlias /hello ${hello}\n<Directory /tmp>\n  AllowOverride None\n</Directory>\n`), "--strict", "--check-config"]);
    expect([none.code, none.stderr]).toEqual([0, ""]);
    const all = await run(["--config", writeConfig(`WSGIScriptAlias /hello ${hello}\n<Directory /tmp>\n  AllowOverride All\n</Directory>\n`), "--check-config"]);
    expect(warnings(all.stderr)).toEqual([expect.stringMatching(/site\.conf:3: AllowOverride All: wsgi-bin never reads \.htaccess files/)]);
  });

  test("WSGIRestrictSignal On is what wsgi-bin does; Off is a warning (a handler could not run on a worker thread)", async () => {
    const hello = fixture("hello.wsgi");
    const on = await run(["--config", writeConfig(`WSGIScriptAlias /hello ${hello}\nWSGIRestrictSignal On\n`), "--strict", "--check-config"]);
    expect([on.code, on.stderr]).toEqual([0, ""]);
    const off = await run(["--config", writeConfig(`WSGIScriptAlias /hello ${hello}\nWSGIRestrictSignal Off\n`), "--check-config"]);
    expect(warnings(off.stderr)).toEqual([expect.stringMatching(/site\.conf:2: WSGIRestrictSignal Off: .* registrations stay logged and ignored$/)]);
  });
});

describe("access the configuration restricts", () => {
  test("Require all denied, and Require ip the client is not in, answer 403 with Apache's page and log line", async () => {
    const server = await start({ args: ["--config", config("access.conf")] });
    try {
      expect(await get(`${server.url}/open`)).toMatchObject({ status: 200, text: "Hello World!" });
      for (const path of ["/closed", "/lan/x"]) {
        const denied = await get(`${server.url}${path}`);
        expect(denied.status).toBe(403);
        expect(denied.text).toContain("<p>You don't have permission to access this resource.</p>");
      }
      await server.waitForLog(/\[client 127\.0\.0\.1:\d+\] AH01630: client denied by server configuration: .*environ\.wsgi/);
      // A path no route maps: refused or redirected by its <Location> before it could be a 404.
      expect((await get(`${server.url}/private/x`)).status).toBe(403);
      const legacy = await fetch(`${server.url}/legacy`, { redirect: "manual" });
      expect(legacy.status).toBe(301);
      expect(legacy.headers.get("location")).toBe(`${server.url}/open`);
      expect((await get(`${server.url}/elsewhere`)).status).toBe(404);
      expect(warnings(server.stderr())).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe("--check-config and the command line", () => {
  test("without --config, the flags are one host's site, printed without starting Python", async () => {
    const r = await run(["--check-config", "--alias", `/a=${fixture("hello.wsgi")},application-group=g`, "--threads", "3",
      "--server-name", "cli.example", "--port", "9000", "--python", "/nonexistent/python3"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Configuration: the command line\n");
    expect(r.stdout).toContain("  0.0.0.0:9000 http\n");
    expect(r.stdout).toContain("  %{GLOBAL} (embedded): processes=1 threads=3 graceful-timeout=30");
    expect(r.stdout).toContain("Main server cli.example");
    expect(routesOf(r.stdout, "Main server")).toEqual([
      `wsgi /a -> ${fixture("hello.wsgi")}; process group %{GLOBAL} (embedded); application group g; callable application; access granted (no Require)`,
    ]);
  });

  test("process-wide flags override the file: --threads and --port move the daemon group and the listener", async () => {
    const r = await run(["--config", config("django/site.conf"), "--threads", "2", "--port", "9001", "--check-config"], { env: { VENV: "/venv", LOGS: "/logs" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  example.com: processes=2 threads=2 python-home=/venv");
    expect(r.stdout).toContain("  0.0.0.0:9001 http\n");
    expect(r.stdout).toContain("<VirtualHost *:9001> www.example.com (default for port 9001)");
  });

  test("flags describing one host's routes are refused with --config; -D needs --config", async () => {
    for (const args of [["--alias", `/a=${fixture("hello.wsgi")}`], [fixture("hello.wsgi")], ["--server-name", "x"], ["--pass-authorization"]]) {
      const r = await run(["--config", config("unknown.conf"), ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("cannot be combined with --config");
    }
    const r = await run(["-D", "DEV", "--alias", `/a=${fixture("hello.wsgi")}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("-D defines a parameter for <IfDefine> in a --config file");
  });

  test("--help lists --config, -D, --check-config and --strict", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--config FILE", "-D NAME", "--check-config", "--strict"]) expect(r.stdout).toContain(flag);
  });

  test("a configuration that serves nothing does not start", async () => {
    const text = `Listen 8080\nServerName nothing.example\n<VirtualHost *:8080>\n  WSGIScriptAlias /x ${fixture("hello.wsgi")} process-group=missing\n</VirtualHost>\n`;
    const r = await run(["--config", writeConfig(text), "--port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/site\.conf:4: WSGIScriptAlias \/x: process group 'missing' is not defined: not served/);
    expect(r.stderr).toMatch(/error: nothing to serve: .*site\.conf gives no virtual host a WSGI route, static files or a redirect this version can serve \(see the warnings above\)/);
    expect(r.stderr).not.toContain("listening on");
  });
});

describe("connection directives (LimitRequestLine, KeepAlive, Timeout, User...)", () => {
  test("are read from the file and applied; a flag still overrides them", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
LimitRequestLine 200
LimitRequestFields 5
KeepAlive Off
RequestReadTimeout header=1-40,MinRate=500 body=20
WSGIScriptAlias /wire ${fixture("wire.wsgi")}
`);
    const server = await start({ args: ["--config", site, "--port", "0"] });
    try {
      const long = await rawRequest(server.port, `GET /wire/${"a".repeat(300)} HTTP/1.1\r\nHost: t\r\n\r\n`);
      expect(long.toString("latin1")).toStartWith("HTTP/1.1 414 ");
      const fields = await rawRequest(server.port, `GET /wire/env HTTP/1.1\r\nHost: t\r\n${"X-A: 1\r\n".repeat(6)}\r\n`);
      expect(fields.toString("latin1")).toStartWith("HTTP/1.1 400 ");
      const once = (await rawRequest(server.port, `GET /wire/no-read HTTP/1.1\r\nHost: t\r\n\r\n`)).toString("latin1");
      expect(once).toStartWith("HTTP/1.1 200 ");
      expect(once).toContain("Connection: close\r\n"); // KeepAlive Off
      const started = Date.now();
      const slow = (await rawRequest(server.port, "GET /wire/env HTTP/1.1\r\nHost: t\r\n", 6_000)).toString("latin1");
      expect(slow).toStartWith("HTTP/1.1 408 "); // RequestReadTimeout header=1
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await server.stop();
    }
    const overridden = await start({ args: ["--config", site, "--port", "0", "--limit-request-line", "1000"] });
    try {
      const long = await rawRequest(overridden.port, `GET /wire/${"a".repeat(300)} HTTP/1.1\r\nHost: t\r\n\r\n`);
      expect(long.toString("latin1")).toStartWith("HTTP/1.1 404 "); // past the line limit now: the app's 404
    } finally {
      await overridden.stop();
    }
  });

  test("User and Group are read: a user that does not exist stops the start", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
User no-such-user-here
WSGIScriptAlias /wire ${fixture("wire.wsgi")}
`);
    const result = await run(["--config", site, "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no-such-user-here");
  });
});

describe("directives the flags stand for, served from a file", () => {
  const wire = fixture("wire.wsgi");
  /** environ of /PATH/env (wire.wsgi), with extra request headers. */
  const environ = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/env`, { headers });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, string>;
  };
  const forwarded = { "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Real-IP": "198.51.100.7" };

  test("WSGITrustedProxies and WSGITrustedProxyHeaders, per directory: the trusted header of each kind from a trusted peer, the kind's others removed; from other peers all removed", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
WSGIScriptAlias /trusting ${wire}
WSGIScriptAlias /distrusting ${wire}
WSGIScriptAlias /real-ip ${wire}
WSGITrustedProxies 127.0.0.1
WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto
<Location /distrusting>
    WSGITrustedProxies 10.0.0.0/8
</Location>
<Location /real-ip>
    WSGITrustedProxyHeaders X-Real-IP
</Location>
`);
    const server = await start({ args: ["--config", site, "--port", "0"] });
    try {
      expect(warnings(server.stderr())).toEqual([]);
      const trusting = await environ(`${server.url}/trusting`, forwarded);
      expect(trusting.REMOTE_ADDR).toBe("203.0.113.9");
      expect(trusting["wsgi.url_scheme"]).toBe("https");
      expect(trusting.HTTP_X_FORWARDED_FOR).toBe("203.0.113.9");
      expect(trusting.HTTP_X_REAL_IP).toBeUndefined(); // X-Forwarded-For is the trusted one of its kind
      const distrusting = await environ(`${server.url}/distrusting`, forwarded);
      expect(distrusting.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(distrusting["wsgi.url_scheme"]).toBe("http");
      expect(distrusting.HTTP_X_FORWARDED_FOR).toBeUndefined();
      expect(distrusting.HTTP_X_FORWARDED_PROTO).toBeUndefined();
      // The <Location>'s own headers list replaces the host's: X-Real-IP, from the host's trusted proxy.
      const realIp = await environ(`${server.url}/real-ip`, forwarded);
      expect(realIp.REMOTE_ADDR).toBe("198.51.100.7");
      expect(realIp.HTTP_X_FORWARDED_FOR).toBeUndefined();
      expect(realIp.HTTP_X_FORWARDED_PROTO).toBe("https"); // not a kind this <Location> trusts: passed on untouched
      expect(realIp["wsgi.url_scheme"]).toBe("http");
    } finally {
      await server.stop();
    }
  });

  test("WSGITrustedProxyHeaders without WSGITrustedProxies believes every client, as mod_wsgi; an unknown header is a warning", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
WSGIScriptAlias /w ${wire}
WSGITrustedProxyHeaders X-Forwarded-Host X-Bogus
`);
    const server = await start({ args: ["--config", site, "--port", "0"] });
    try {
      expect(warnings(server.stderr())).toEqual([expect.stringMatching(/site\.conf:3: WSGITrustedProxyHeaders: 'X-Bogus' is not a header mod_wsgi takes from a proxy/)]);
      const env = await environ(`${server.url}/w`, { "X-Forwarded-Host": "public.example", "X-Host": "other.example" });
      expect(env.HTTP_HOST).toBe("public.example");
      expect(env.SERVER_NAME).toBe("public.example");
      expect(env.HTTP_X_HOST).toBeUndefined();
    } finally {
      await server.stop();
    }
  });

  test("WSGIChunkedRequest Off in a <Location>: a chunked body there gets 411, elsewhere it is read", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
WSGIScriptAlias /strict ${wire}
WSGIScriptAlias /lenient ${wire}
<Location /strict>
    WSGIChunkedRequest Off
</Location>
`);
    const server = await start({ args: ["--config", site, "--port", "0"] });
    try {
      expect(warnings(server.stderr())).toEqual([]);
      const chunked = (path: string) => `POST ${path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`;
      expect((await rawRequest(server.port, chunked("/strict/env"))).toString("latin1")).toStartWith("HTTP/1.1 411 Length Required\r\n");
      expect((await rawRequest(server.port, chunked("/lenient/env"))).toString("latin1")).toStartWith("HTTP/1.1 200 ");
    } finally {
      await server.stop();
    }
  });

  test("SetHandler server-status in a <Location>: that host's status page behind its Require; another host has none", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
ExtendedStatus On
<VirtualHost *:*>
    ServerName status.example
    WSGIScriptAlias / ${wire}
    <Location /server-status>
        SetHandler server-status
        Require ip 127.0.0.1 ::1
    </Location>
    <Location /hidden-status>
        SetHandler server-status
        Require ip 10.0.0.0/8
    </Location>
</VirtualHost>
<VirtualHost *:*>
    ServerName plain.example
    WSGIScriptAlias / ${wire}
</VirtualHost>
`);
    const server = await start({ args: ["--config", site, "--port", "0"] });
    const as = (host: string) => ({ headers: { Host: host } });
    try {
      expect(warnings(server.stderr())).toEqual([]);
      const report = await (await fetch(`${server.url}/server-status?json`, as("status.example"))).json() as { processes: { pid: number }[] };
      expect(report.processes.map((p) => p.pid)).toEqual([server.pid]);
      expect(await (await fetch(`${server.url}/server-status/metrics`, as("status.example"))).text()).toContain("wsgi_bin_requests_total");
      expect((await fetch(`${server.url}/hidden-status`, as("status.example"))).status).toBe(403);
      await server.waitForLog(/AH01630: client denied by server configuration: \/hidden-status/);
      // The other host: the path is its WSGI app's (wire.wsgi answers 404 "no such case" to what it does not know).
      const plain = await fetch(`${server.url}/server-status?json`, as("plain.example"));
      expect(plain.status).toBe(404);
      expect(await plain.text()).toBe("no such case");
      const check = await run(["--config", site, "--check-config"]);
      expect(check.stdout).toMatch(/1\. status \/server-status \(SetHandler server-status: the page, \?json, \/server-status\/metrics\); access restricted \(Require ip 127\.0\.0\.1 ::1\)/);
    } finally {
      await server.stop();
    }
  });

  test("SetHandler outside a <Location>, or another handler, is a warning", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
WSGIScriptAlias /w ${wire}
SetHandler server-status
<Directory /tmp>
    SetHandler cgi-script
</Directory>
`);
    const r = await run(["--config", site, "--check-config"]);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([
      expect.stringMatching(/site\.conf:3: SetHandler server-status is served inside a <Location PATH> only: ignored here/),
      expect.stringMatching(/site\.conf:5: SetHandler cgi-script: not implemented by wsgi-bin \(only server-status and wsgi-script\): ignored/),
    ]);
  });

  test("ListenBacklog: at most N requests wait for a thread, more get 503 at once (--queue-limit overrides it)", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
ThreadsPerChild 1
ListenBacklog 0
WSGIScriptAlias /sleep ${fixture("sleep.wsgi")}
`);
    const status = async (port: number, query: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec((await rawRequest(port, `GET /sleep?${query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`)).toString("latin1"))?.[1]);
    for (const [extra, expected] of [[[], 503], [["--queue-limit", "1"], 200]] as const) {
      const server = await start({ args: ["--config", site, "--port", "0", ...extra] });
      try {
        expect(await status(server.port, "0")).toBe(200); // the script loaded
        const busy = status(server.port, "1.5");
        await Bun.sleep(300);
        expect(await status(server.port, "0")).toBe(expected);
        expect(await busy).toBe(200);
      } finally {
        await server.stop();
      }
    }
  });

  test("--server-status and --trust-proxy over a file: every host gets the status <Location> and the trusted proxies", async () => {
    const site = writeConfig(`Listen 127.0.0.1:0
<VirtualHost *:*>
    ServerName one.example
    WSGIScriptAlias / ${wire}
</VirtualHost>
<VirtualHost *:*>
    ServerName two.example
    WSGIScriptAlias / ${wire}
    WSGITrustedProxies 10.0.0.0/8
</VirtualHost>
`);
    const server = await start({ args: ["--config", site, "--port", "0", "--server-status", "--trust-proxy", "127.0.0.1"] });
    try {
      for (const host of ["one.example", "two.example"]) {
        expect((await fetch(`${server.url}/server-status?json`, { headers: { Host: host } })).headers.get("content-type")).toBe("application/json");
        const env = await environ(server.url, { Host: host, "X-Forwarded-For": "203.0.113.9" });
        expect(env.REMOTE_ADDR).toBe("203.0.113.9"); // the flag replaced two.example's own WSGITrustedProxies
      }
    } finally {
      await server.stop();
    }
  });
});
