// mod_wsgi's handler (AddHandler and SetHandler wsgi-script, Options ExecCGI): the same site served by
// Apache + mod_wsgi and by wsgi-bin, request by request. Before, wsgi-bin sent such scripts' source as
// static files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startBoth, type BothServers, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, fixture, run, type RunningServer, tempDir } from "./helpers/server.ts";
import { WireClient, type WireResponse } from "./helpers/wire-client.ts";

afterAll(() => cleanupTemps());

const CONFIG = fixture("site/handler.conf");

function makeSite(): string {
  const site = tempDir("wsgi-bin-handler-");
  const script = (rel: string) => {
    mkdirSync(dirname(join(site, rel)), { recursive: true });
    copyFileSync(fixture("environ.wsgi"), join(site, rel));
  };
  for (const rel of ["htdocs/app.wsgi", "htdocs/app.wsgi.bak", "htdocs/sub/deep.wsgi", "htdocs/daemon/d.wsgi", "htdocs/idx/index.wsgi", "apps/myapp.wsgi", "noexec/n.wsgi"]) script(rel);
  writeFileSync(join(site, "htdocs/static.txt"), "just a file\n");
  for (const dir of ["nolinks", "links"]) {
    script(`htdocs/${dir}/real.wsgi`);
    symlinkSync("real.wsgi", join(site, `htdocs/${dir}/link.wsgi`));
  }
  // Apache's children run as www-data: everything must be world-readable.
  for (const dir of ["", "htdocs", "htdocs/sub", "htdocs/daemon", "htdocs/idx", "htdocs/nolinks", "htdocs/links", "apps", "noexec"]) chmodSync(join(site, dir), 0o755);
  return site;
}

async function ask(port: number, path: string): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    await client.send(`GET ${path} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n`);
    return await client.response();
  } finally {
    client.close();
  }
}

/** The status, and what the script saw (its environ's routing keys) or the body sent. */
function comparable(r: WireResponse) {
  if (r.header("content-type") !== "application/json") return { status: r.status, body: r.status === 200 ? r.body.toString("latin1") : "(page)" };
  const environ = JSON.parse(r.body.toString("utf8")) as Record<string, string>;
  const keys = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SCRIPT_FILENAME", "mod_wsgi.process_group", "mod_wsgi.application_group"];
  // %{RESOURCE} names the port the request arrived on in wsgi-bin, Host's in mod_wsgi (docs/known-limitations.md).
  return { status: r.status, ...Object.fromEntries(keys.map((key) => [key, environ[key]?.replace(/:\d+\|/, "|")])) };
}

describe("AddHandler and SetHandler wsgi-script through Apache + mod_wsgi and through wsgi-bin", () => {
  let site: string;
  let both: BothServers;
  let ours: RunningServer;
  let apache: RunningApache;
  beforeAll(async () => {
    site = makeSite();
    both = await startBoth(CONFIG, ["authz_core", "mime", "alias", "dir", "wsgi"], { SITE: site });
    ({ ours, apache } = both);
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  const PATHS = [
    "/app.wsgi", "/app.wsgi/extra/path?q=1", "/app.wsgi/", "/sub/deep.wsgi/x", "/app.wsgi.bak", "/static.txt", "/missing.wsgi",
    "/daemon/d.wsgi/p?z=2", "/myapp", "/myapp/more/", "/noexec/n.wsgi", "/nolinks/real.wsgi", "/nolinks/link.wsgi", "/links/link.wsgi/x",
    "/idx/?q=1", "/idx",
  ];
  for (const path of PATHS) {
    test(`GET ${path}`, async () => {
      const [theirs, mine] = await Promise.all([ask(apache.port, path), ask(ours.port, path)]);
      expect(comparable(mine)).toEqual(comparable(theirs));
    });
  }

  test("a script is never sent as a file, a directory without ExecCGI or FollowSymLinks logs why it refuses, and --check-config lists the handlers", async () => {
    const r = await ask(ours.port, "/app.wsgi");
    expect(r.header("content-type")).toBe("application/json");
    expect((await ask(ours.port, "/noexec/n.wsgi")).status).toBe(403);
    expect(ours.stderr()).toContain(`Options ExecCGI is off in this directory: ${site}/noexec/n.wsgi`);
    expect((await ask(ours.port, "/nolinks/link.wsgi")).status).toBe(403);
    expect(ours.stderr()).toContain(`AH00037: Symbolic link not allowed or link target not accessible: ${site}/htdocs/nolinks/link.wsgi`);
    expect(ours.stderr()).not.toContain("warning");
    const index = await ask(ours.port, "/idx/");
    expect(index.header("content-type")).toBe("application/json"); // run as a DirectoryIndex, as Apache does
    const check = await run(["--config", CONFIG, "--check-config"], { env: { SITE: site, PORT: "8000" } });
    expect(check.stdout).toContain(`wsgi-script handler in <Directory ${site}/htdocs>: *.wsgi (AddHandler) run as WSGI scripts where Options ExecCGI is on`);
    expect(check.stdout).toContain(`wsgi-script handler in <Directory ${site}/apps>: every file (SetHandler)`);
  });
});
