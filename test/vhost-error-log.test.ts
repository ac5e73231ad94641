// Each <VirtualHost>'s own ErrorLog and LogLevel, compared with Apache + mod_wsgi 4.9 serving the same
// file: which file each kind of line lands in (the request's host's, else the main server's), for
// embedded routes and daemon process groups; SIGUSR1 reopening them all; the flags over the file's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { FIXTURES, fixture, freePort, start, tempDir, type RunningServer } from "./helpers/server.ts";

const CONFIG = fixture("site/vhost-error-log.conf");
const FILES = ["main", "a", "b"] as const;

/** A world-readable DocumentRoot (Apache's children run as www-data) and a log directory anyone may write. */
function directories(): { docs: string; logs: () => string } {
  const docs = tempDir();
  chmodSync(docs, 0o755);
  writeFileSync(join(docs, "index.html"), "index\n");
  return {
    docs,
    logs: () => {
      const dir = tempDir();
      chmodSync(dir, 0o777);
      return dir;
    },
  };
}

const read = (dir: string, name: string) => (existsSync(join(dir, `${name}.log`)) ? readFileSync(join(dir, `${name}.log`), "utf8") : "");

/** The log files (main, a, b) holding `marker`. */
function filesWith(dir: string, marker: string): string[] {
  return FILES.filter((name) => read(dir, name).includes(marker));
}

async function request(url: string, host: string, path: string): Promise<number> {
  const response = await fetch(url + path, { headers: { Host: host } });
  await response.text();
  return response.status;
}

/** Every marker the requests below leave, for the app's lines and the server's. */
function markers(host: string, daemonGroups: string[]): string[] {
  const tag = (query: string, group: string) => `${query}-${host}-${group}`;
  const groups = ["embedded", ...daemonGroups];
  return [
    ...groups.flatMap((group) => ["ERRORS", "PRINT", "STDERR", "WARN"].map((kind) => `MARK-${kind}-${tag("ok", group)}`)),
    ...["ERRORS", "PRINT", "STDERR", "WARN", "RAISE"].map((kind) => `MARK-${kind}-${tag("raise", "embedded")}`),
    `no-such-script-${host[0]}.wsgi`, // Target WSGI script not found
    `denied-${host[0]}`, // AH01630
    `absent-${host[0]}.html`, // AH00128, at info: a.test's LogLevel only
  ];
}

const HOSTS: [string, string[]][] = [["a.test", ["serverd", "vd"]], ["b.test", ["serverd"]], ["c.test", []]];

async function exercise(url: string): Promise<void> {
  for (const [host, groups] of HOSTS) {
    const letter = host[0];
    expect(await request(url, host, "/app?ok")).toBe(200);
    expect(await request(url, host, "/app?raise")).toBe(500);
    expect(await request(url, host, "/missing")).toBe(404);
    expect(await request(url, host, `/denied-${letter}`)).toBe(403);
    expect(await request(url, host, `/absent-${letter}.html`)).toBe(404);
    if (groups.includes("serverd")) expect(await request(url, host, "/sd?ok")).toBe(200);
    if (groups.includes("vd")) expect(await request(url, host, "/vd?ok")).toBe(200);
  }
  expect(await request(url, "b.test", "/app/nogroup")).toBe(500); // "No WSGI daemon process called 'nosuch'"
}

/** Waits until the last line the requests leave is written (a daemon's lines come a little later). */
async function settled(dir: string, last: string[]): Promise<void> {
  for (let i = 0; i < 200 && !last.every((marker) => filesWith(dir, marker).length); i++) await Bun.sleep(25);
}

describe("each virtual host's own ErrorLog, as Apache + mod_wsgi 4.9", () => {
  let both: BothServers;
  const { docs, logs } = directories();
  const ours = logs();
  const apache = logs();

  beforeAll(async () => {
    both = await startBoth(CONFIG, ["authz_core", "mime", "alias", "dir", "wsgi"], { FIXTURES, DOCS: docs }, { ours: { LOGS: ours }, apache: { LOGS: apache } });
    await exercise(both.ours.url);
    await exercise(both.apache.url);
    const last = HOSTS.flatMap(([host, groups]) => markers(host, groups)).filter((marker) => !marker.startsWith("absent-b") && !marker.startsWith("absent-c"));
    await settled(ours, last);
    await settled(apache, last);
  }, 60_000);
  afterAll(async () => {
    await both?.stop();
  }, 30_000);

  for (const [host, groups] of HOSTS) {
    test(`${host}: every line of its requests lands in the same file as Apache's`, () => {
      const where = (dir: string) => Object.fromEntries(markers(host, groups).map((marker) => [marker, filesWith(dir, marker)]));
      expect(where(ours)).toEqual(where(apache));
    });
  }

  test("a route whose WSGIProcessGroup names no daemon group: its host's log says so", () => {
    expect(filesWith(apache, "called 'nosuch'")).toEqual(["b"]);
    expect(filesWith(ours, "called 'nosuch'")).toEqual(["b"]);
  });

  test("an app's response short of its Content-Length: its host's log says so (wsgi-bin's line)", async () => {
    await fetch(`${both.ours.url}/app?short`, { headers: { Host: "b.test" } }).then((response) => response.text()).catch(() => "cut");
    for (let i = 0; i < 200 && !filesWith(ours, "short of its Content-Length").length; i++) await Bun.sleep(25);
    expect(filesWith(ours, "short of its Content-Length")).toEqual(["b"]);
  });

  test("what that is: the host's own file, else the main server's; its LogLevel decides (info in a.test only)", () => {
    expect(filesWith(ours, "MARK-PRINT-ok-b.test-embedded")).toEqual(["b"]);
    expect(filesWith(ours, "MARK-RAISE-raise-a.test-embedded")).toEqual(["a"]);
    expect(filesWith(ours, "MARK-STDERR-ok-b.test-serverd")).toEqual(["b"]); // a server-level daemon group: the request's host
    expect(filesWith(ours, "MARK-WARN-ok-a.test-vd")).toEqual(["a"]);
    expect(filesWith(ours, "MARK-ERRORS-ok-c.test-embedded")).toEqual(["main"]);
    expect(filesWith(ours, "absent-a.html")).toEqual(["a"]);
    expect(filesWith(ours, "absent-b.html")).toEqual([]);
  });

  test("start-up lines are not the hosts' (a.test logs at info: they would show there)", () => {
    expect(read(apache, "main")).toContain("resuming normal operations");
    // (a.log has the lines of vd's processes, defined in a.test: "Daemon process N of group 'vd' listening on ...")
    const frontListening = (text: string) => text.split("\n").filter((line) => line.includes(" listening on ") && !line.includes("Daemon process"));
    for (const name of ["a", "b"]) {
      expect(read(apache, name)).not.toContain("resuming normal operations");
      expect(frontListening(read(ours, name))).toEqual([]);
    }
  });

  test("no start-up warning about the hosts' own ErrorLog any more", () => {
    expect(both.ours.stderr()).not.toContain("ErrorLog");
  });
});

/** wsgi-bin alone on the configuration, its logs in `dir`. */
async function startOurs(dir: string, docs: string, args: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  return start({ args: ["--config", CONFIG, "--port", String(port), ...args], env: { FIXTURES, DOCS: docs, LOGS: dir, PORT: String(port) } });
}

describe("SIGUSR1 reopens every host's error log", () => {
  for (const processes of [1, 2]) {
    test(`--processes ${processes}: the hosts' new files get their lines, daemon groups' too`, async () => {
      const { docs, logs } = directories();
      const dir = logs();
      // notice: the main server's level, for its "Caught SIGUSR1" lines (b.test inherits it).
      const server = await startOurs(dir, docs, ["--processes", String(processes), "--log-level", "notice"]);
      try {
        expect(await request(server.url, "a.test", "/vd?before")).toBe(200);
        expect(await request(server.url, "b.test", "/app?before")).toBe(200);
        await settled(dir, ["MARK-ERRORS-before-a.test-vd", "MARK-ERRORS-before-b.test-embedded"]);
        for (const name of FILES) renameSync(join(dir, `${name}.log`), join(dir, `${name}.log.1`));
        process.kill(server.pid, "SIGUSR1");
        // The supervisor and each process it runs (fronts, serverd's) say so in the new main log, vd's in a.log.
        const everyProcess = 1 + 3 * processes; // --processes is every group's: the fronts, serverd, vd
        const caught = () => `${read(dir, "main")}${read(dir, "a")}`.split("Caught SIGUSR1, reopened").length - 1;
        for (let i = 0; i < 250 && caught() < everyProcess; i++) await Bun.sleep(20);
        expect(caught()).toBe(everyProcess);
        for (let i = 0; i < 6; i++) expect(await request(server.url, "b.test", "/app?after")).toBe(200);
        expect(await request(server.url, "a.test", "/vd?after")).toBe(200);
        await settled(dir, ["MARK-ERRORS-after-a.test-vd", "MARK-ERRORS-after-b.test-embedded"]);
        expect(filesWith(dir, "MARK-ERRORS-after-a.test-vd")).toEqual(["a"]);
        expect(filesWith(dir, "MARK-PRINT-after-b.test-embedded")).toEqual(["b"]);
        const rotated = (name: string) => readFileSync(join(dir, `${name}.log.1`), "utf8");
        expect(rotated("a")).toContain("MARK-ERRORS-before-a.test-vd");
        expect(rotated("b")).not.toContain("-after-");
        expect(rotated("a")).not.toContain("-after-");
      } finally {
        await server.stop();
      }
    }, 60_000);
  }
});

describe("--error-log and --log-level with --config: the main server's, as if written last at its level", () => {
  test("hosts with their own ErrorLog/LogLevel keep them; the others follow the flags", async () => {
    const { docs, logs } = directories();
    const dir = logs();
    const flagLog = join(dir, "flag.log");
    const server = await startOurs(dir, docs, ["--error-log", flagLog, "--log-level", "info"]);
    try {
      for (const host of ["a.test", "b.test", "c.test"]) expect(await request(server.url, host, `/absent-${host[0]}.html`)).toBe(404);
      expect(await request(server.url, "c.test", "/app?flag")).toBe(200);
      await settled(dir, ["absent-a.html", "absent-b.html"]);
      for (let i = 0; i < 200 && !readFileSync(flagLog, "utf8").includes("MARK-ERRORS-flag-c.test"); i++) await Bun.sleep(25);
      const flagged = readFileSync(flagLog, "utf8");
      expect(flagged).toContain(" listening on ");
      expect(flagged).toContain("MARK-ERRORS-flag-c.test-embedded");
      expect(flagged).toContain("absent-c.html"); // info: the flag's level
      expect(filesWith(dir, "absent-a.html")).toEqual(["a"]);
      expect(filesWith(dir, "absent-b.html")).toEqual(["b"]); // b.test inherits the level, not the file
      expect(existsSync(join(dir, "main.log"))).toBe(false);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("--user: the hosts' error logs are opened before root is dropped, as Apache opens its logs", () => {
  test("a host's log file that only root may write still takes its requests' lines", async () => {
    expect(process.getuid!()).toBe(0); // the test runs as root, as privileges.test.ts
    const { docs, logs } = directories();
    const dir = logs();
    chmodSync(dir, 0o700); // nobody can neither enter it nor create files in it
    const server = await startOurs(dir, docs, ["--user", "nobody", "--group", "nogroup"]);
    try {
      expect(await request(server.url, "b.test", "/app?asnobody")).toBe(200);
      await settled(dir, ["MARK-ERRORS-asnobody-b.test-embedded"]);
      expect(filesWith(dir, "MARK-PRINT-asnobody-b.test-embedded")).toEqual(["b"]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
