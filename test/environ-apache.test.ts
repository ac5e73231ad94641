// What Apache 2.4 and mod_wsgi 4.9 put in environ from the configuration, the listener and the
// process (DOCUMENT_ROOT, CONTEXT_*, PATH_TRANSLATED, SERVER_ADDR, SERVER_ADMIN, SERVER_SIGNATURE,
// mod_wsgi.listener_*, mod_wsgi.script_name, the request counters...): the same configuration served
// by both, request by request, the values compared. Then --alias alone, where no Apache serves it.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth } from "./helpers/apache.ts";
import { cleanupTemps, start, tempDir } from "./helpers/server.ts";

afterAll(() => cleanupTemps());

/** The keys compared (those Apache and mod_wsgi set that have a value to compare). */
const KEYS = [
  "DOCUMENT_ROOT", "CONTEXT_DOCUMENT_ROOT", "CONTEXT_PREFIX", "PATH_TRANSLATED", "SERVER_ADDR", "SERVER_ADMIN", "SERVER_SIGNATURE",
  "SCRIPT_NAME", "PATH_INFO", "mod_wsgi.script_name", "mod_wsgi.path_info", "mod_wsgi.mount_point", "mod_wsgi.request_handler",
  "mod_wsgi.handler_script", "mod_wsgi.enable_sendfile", "mod_wsgi.ignore_activity", "mod_wsgi.version", "mod_wsgi.total_requests",
];

/** The app: the keys' values (tuples as lists) and what they are checked against, as JSON. */
const APP = `import json, time
def application(environ, start_response):
    body = {k: environ[k] for k in environ if not k.startswith("wsgi.") and not k.startswith("HTTP_")}
    body = {k: v if isinstance(v, (str, int, tuple)) else repr(v) for k, v in body.items()}
    body["script_start_age_s"] = time.time() - int(environ["mod_wsgi.script_start"]) / 1e6
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
`;

/** A site: the app as a script, a second copy in a directory of scripts, and the directories aliased. */
function site(): string {
  const dir = tempDir("wsgi-bin-environ-");
  for (const sub of ["docs", "vdocs", "aliased", "handled", "scripts"]) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, "env.wsgi"), APP);
  writeFileSync(join(dir, "handled/env.wsgi"), APP);
  writeFileSync(join(dir, "scripts/env.wsgi"), APP);
  writeFileSync(join(dir, "docs/run.wsgi"), APP);
  chmodSync(dir, 0o755); // Apache's children run as www-data
  for (const sub of ["", "docs", "vdocs", "aliased", "handled", "scripts"]) chmodSync(join(dir, sub), 0o755);
  return dir;
}

type Environ = Record<string, unknown>;

async function environOf(url: string, headers: Record<string, string> = {}): Promise<Environ> {
  const response = await fetch(url, { headers, redirect: "manual" });
  expect(response.status).toBe(200);
  return (await response.json()) as Environ;
}

/** The compared keys, SERVER_SIGNATURE's server software and port named "SOFTWARE" and "PORT" (Apache's and wsgi-bin's differ). */
function compared(environ: Environ): Environ {
  const out: Environ = {};
  for (const key of KEYS) if (key in environ) out[key] = environ[key];
  if (typeof out.SERVER_SIGNATURE === "string") {
    out.SERVER_SIGNATURE = out.SERVER_SIGNATURE.replace(String(environ.SERVER_SOFTWARE), "SOFTWARE").replace(`Port ${environ.SERVER_PORT}<`, "Port PORT<");
  }
  return out;
}

/**
 * Serves `config` (written in a new site, SITE replaced by its directory) with both, asks each path of
 * each in turn and compares the keys; mod_wsgi.listener_port must be each one's own port.
 */
async function compare(config: string, paths: string[], options: { modules?: string[]; headers?: Record<string, string>; ourArgs?: string[] } = {}):
    Promise<{ apache: Environ[]; ours: Environ[] }> {
  const dir = site();
  const file = join(dir, "site.conf");
  writeFileSync(file, config.replaceAll("SITE", dir));
  chmodSync(file, 0o644);
  const both = await startBoth(file, options.modules ?? ["wsgi", "authz_core", "mime", "dir", "alias"], {});
  const seen = { apache: [] as Environ[], ours: [] as Environ[] };
  try {
    for (const path of paths) {
      const theirs = await environOf(both.apache.url + path, options.headers);
      const mine = await environOf(both.ours.url + path, options.headers);
      expect({ path, ...compared(mine) }).toEqual({ path, ...compared(theirs) });
      expect(theirs["mod_wsgi.listener_port"]).toBe(String(both.apache.port));
      expect(mine["mod_wsgi.listener_port"]).toBe(String(both.ours.port));
      expect(Math.abs(mine.script_start_age_s as number)).toBeLessThan(5); // µs since the epoch, as Apache's
      expect(typeof mine["mod_wsgi.thread_requests"]).toBe("number");
      seen.apache.push(theirs);
      seen.ours.push(mine);
    }
  } finally {
    await both.stop();
  }
  return seen;
}

describe("environ as Apache + mod_wsgi make it", () => {
  test("main server: DocumentRoot, Alias, AliasMatch, Redirect and WSGIScriptAlias(Match) as PATH_INFO maps", async () => {
    await compare(`ServerName localhost
DocumentRoot SITE/docs
Redirect /gone http://example.com/
Alias /al SITE/aliased
AliasMatch ^/am/([a-z]+)/(.*) SITE/aliased/$1-$2
WSGIScriptAliasMatch ^/m/([a-z]+) SITE/env.wsgi
WSGIScriptAlias /app SITE/env.wsgi
WSGIScriptAlias /sd SITE/scripts
<Directory SITE>
  Require all granted
</Directory>
`, ["/app/x/y?q=1", "/app", "/app/", "/app/al/z", "/app/al", "/app/gone/x", "/app/am/b/c/d", "/app/m/xyz/q", "/app/app/q",
      "/app/sd/env.wsgi/z", "/m/abc/def", "/sd/env.wsgi/p"]);
  }, 60_000);

  test("no DocumentRoot: Apache's compiled-in one (/var/www/html)", async () => {
    await compare(`ServerName localhost
WSGIScriptAlias /app SITE/env.wsgi
<Directory SITE>
  Require all granted
</Directory>
`, ["/app/x/y", "/app"]);
  }, 60_000);

  test("a <VirtualHost> with its own DocumentRoot and ServerAdmin; ServerSignature On, and EMail in a <Location>", async () => {
    await compare(`ServerName localhost
DocumentRoot SITE/docs
ServerAdmin main@example.com
<VirtualHost *:\${PORT}>
  ServerName localhost
  DocumentRoot SITE/vdocs
  ServerAdmin admin@example.com
  ServerSignature On
  WSGIScriptAlias /app SITE/env.wsgi
  <Location /app/mail>
    ServerSignature EMail
  </Location>
</VirtualHost>
<Directory SITE>
  Require all granted
</Directory>
`, ["/app/x", "/app", "/app/mail/x"]);
  }, 60_000);

  test("scripts run by mod_wsgi's handler: through an Alias (CONTEXT_PREFIX), in the DocumentRoot, in a WSGIScriptAlias directory", async () => {
    await compare(`ServerName localhost
DocumentRoot SITE/docs
Alias /h SITE/handled
WSGIScriptAlias /d SITE/scripts/
<Directory SITE/handled>
  Options ExecCGI
  AddHandler wsgi-script .wsgi
</Directory>
<Directory SITE/docs>
  Options ExecCGI
  SetHandler wsgi-script
</Directory>
<Directory SITE>
  Require all granted
</Directory>
`, ["/h/env.wsgi/p/q", "/h/env.wsgi", "/d/env.wsgi/p", "/run.wsgi/p", "/run.wsgi"]);
  }, 60_000);

  test("a trusted proxy's X-Script-Name: SCRIPT_NAME and mod_wsgi.mount_point, mod_wsgi.script_name the alias's", async () => {
    await compare(`ServerName localhost
DocumentRoot SITE/docs
WSGIScriptAlias /app SITE/env.wsgi
WSGITrustedProxyHeaders X-Script-Name
WSGITrustedProxies 127.0.0.1
<Directory SITE>
  Require all granted
</Directory>
`, ["/app/x/y", "/app"], { headers: { "X-Script-Name": "/proxied" } });
  }, 60_000);

  test("daemon mode: the front's listener, and the daemon process's request counters (one thread)", async () => {
    const seen = await compare(`ServerName localhost
DocumentRoot SITE/docs
WSGIDaemonProcess envd threads=1
WSGIProcessGroup envd
WSGIScriptAlias /app SITE/env.wsgi
<Directory SITE>
  Require all granted
</Directory>
`, ["/app/x/y?q=1", "/app/x", "/app"]);
    for (const side of [seen.apache, seen.ours]) {
      expect(side.map((environ) => [environ["mod_wsgi.total_requests"], environ["mod_wsgi.thread_requests"]])).toEqual([[0, 0], [1, 1], [2, 2]]);
    }
  }, 60_000);
});

describe("environ with --alias alone (no configuration file)", () => {
  test("Apache's default DocumentRoot, the listener and PATH_TRANSLATED", async () => {
    const dir = site();
    const server = await start({ args: ["--alias", `/app=${join(dir, "env.wsgi")}`, "--alias", `/=${join(dir, "env.wsgi")}`, "--host", "127.0.0.1"] });
    try {
      const app = await environOf(`${server.url}/app/x?q=1`);
      expect(compared(app)).toMatchObject({
        DOCUMENT_ROOT: "/var/www/html", CONTEXT_DOCUMENT_ROOT: "/var/www/html", CONTEXT_PREFIX: "",
        PATH_TRANSLATED: `${join(dir, "env.wsgi")}/x`, SERVER_ADDR: "127.0.0.1", SERVER_ADMIN: "[no address given]", SERVER_SIGNATURE: "",
        "mod_wsgi.script_name": "/app", "mod_wsgi.path_info": "/x", "mod_wsgi.version": [4, 9, 4], "mod_wsgi.request_handler": "wsgi-script",
      });
      expect(app["mod_wsgi.listener_host"]).toBe("127.0.0.1");
      expect(app["mod_wsgi.listener_port"]).toBe(String(server.port));
      // No PATH_INFO: no PATH_TRANSLATED. Under WSGIScriptAlias /, the script and the path.
      expect("PATH_TRANSLATED" in (await environOf(`${server.url}/app`))).toBe(false);
      expect((await environOf(`${server.url}/other/y`)).PATH_TRANSLATED).toBe(`${join(dir, "env.wsgi")}/other/y`);
      // A PATH_INFO no alias takes: the default DocumentRoot's path.
      const beside = await start({ args: ["--alias", `/app=${join(dir, "env.wsgi")}`] });
      try {
        expect((await environOf(`${beside.url}/app/x`)).PATH_TRANSLATED).toBe("/var/www/html/x");
      } finally {
        await beside.stop();
      }
      const counted = await environOf(`${server.url}/app`);
      expect(counted["mod_wsgi.total_requests"]).toBe(3);
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("listening on any address: mod_wsgi.listener_host is empty, SERVER_ADDR the address connected to", async () => {
    const dir = site();
    const server = await start({ args: ["--alias", `/app=${join(dir, "env.wsgi")}`] });
    try {
      const environ = await environOf(`${server.url}/app`);
      expect(environ["mod_wsgi.listener_host"]).toBe("");
      expect(environ.SERVER_ADDR).toBe("127.0.0.1");
    } finally {
      await server.stop();
    }
  }, 60_000);
});
