// Daemon process groups (WSGIDaemonProcess + WSGIProcessGroup, --daemon-process and process-group=):
// real processes on real sockets. Each group runs its own processes with its own Python; the front
// processes on the port send the group's requests to them; a changed script restarts its group only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { discoverPythons } from "./helpers/pythons.ts";
import { cleanupTemps, fixture, freePort, getJson, run, start, tempDir, type RunningServer } from "./helpers/server.ts";
import { request, WireClient } from "./helpers/wire-client.ts";

afterAll(cleanupTemps);

const DEBIAN = "/usr/bin/python3";

/** pyenv's 3.12: a daemon group's Python, beside Debian's 3.11 for the embedded group. */
function pyenv312(): string {
  const found = discoverPythons().find((python) => python.minor === "3.12" && python.source.startsWith("pyenv"));
  if (!found) throw new Error("these tests want pyenv's Python 3.12 with a shared libpython (PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.12)");
  return found.executable;
}

interface Whoami {
  pid: number;
  generation: number | null;
  version: string;
  process_group: string;
  multiprocess: boolean;
  cwd: string;
  path: string[];
  uid: number;
  gid: number;
  imported: string | null;
  body_length: number | null;
  remote_addr: string;
  server_port: string;
  scheme: string;
  protocol: string;
  script_name: string;
  path_info: string;
  http_headers: string[];
}

const whoami = (url: string, init?: RequestInit): Promise<Whoami> => getJson(url, init);

/** A server whose aliases (URL -> fixture) all run in one daemon group 'g' of `threads` threads, once the group listens. */
async function startGroupG(threads: number, aliases: Record<string, string>): Promise<RunningServer> {
  const server = await start({
    python: DEBIAN,
    args: [
      "--daemon-process", `g,processes=1,threads=${threads}`,
      ...Object.entries(aliases).flatMap(([url, script]) => ["--alias", `${url}=${fixture(script)},process-group=g`]),
    ],
  });
  await server.waitForLog(/of group 'g' \(Python [\d.]+\) listening on unix:/, 20_000);
  return server;
}

/** The pids answering `requests` requests, each on a new connection. */
async function pidsOf(url: string, requests = 20): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < requests; i++) pids.add((await whoami(url, { headers: { connection: "close" } })).pid);
  return pids;
}

/** Concurrent request loops on each url until `until` settles: per url, failures and the pids that answered. */
async function loadUntil(urls: string[], until: Promise<unknown>, concurrency = 2) {
  let done = false;
  void until.finally(() => (done = true));
  const results = urls.map(() => ({ ok: 0, failed: 0, statuses: [] as number[], pids: new Set<number>() }));
  await Promise.all(urls.flatMap((url, i) => Array.from({ length: concurrency }, async () => {
    const result = results[i]!;
    while (!done) {
      try {
        const response = await fetch(url);
        const text = await response.text();
        if (response.status === 200) {
          result.ok++;
          result.pids.add(JSON.parse(text).pid);
        } else {
          result.failed++;
          result.statuses.push(response.status);
        }
      } catch {
        result.failed++;
        result.statuses.push(0);
      }
      await Bun.sleep(10); // light load
    }
  })));
  return results;
}

/** A copy of whoami.wsgi that says which GENERATION of the file it is. */
function writeScript(path: string, generation: number): void {
  writeFileSync(path, readFileSync(fixture("whoami.wsgi"), "utf8") + `\nGENERATION = ${generation}\n`);
}

describe("daemon process groups from the command line", () => {
  const dir = tempDir("wsgi-bin-daemons-");
  const lib = join(dir, "lib");
  const home = join(dir, "home");
  const appScript = join(dir, "app.wsgi");
  const otherScript = join(dir, "other.wsgi");
  const embeddedScript = join(dir, "embedded.wsgi");
  const preload = join(dir, "preload.py");
  let server: RunningServer;
  let python312: string;

  beforeAll(async () => {
    python312 = pyenv312();
    mkdirSync(lib);
    mkdirSync(home);
    writeFileSync(join(lib, "daemon_helper.py"), "VALUE = 42\n");
    writeScript(appScript, 1);
    writeScript(otherScript, 1);
    writeScript(embeddedScript, 1);
    writeFileSync(preload, "import os\nprint('preloaded in', os.getpid())\n");
    server = await start({
      python: DEBIAN,
      args: [
        "--log-level", "info",
        "--daemon-process", `app,processes=2,threads=4,python=${python312},python-path=${lib},home=${home},display-name=%{GROUP}`,
        "--daemon-process", "other",
        "--alias", `/app=${appScript},process-group=app`,
        "--alias", `/other=${otherScript},process-group=other`,
        "--alias", `/embedded=${embeddedScript}`,
        "--import-script", `${preload},application-group=%{GLOBAL},process-group=app`,
      ],
    });
    await server.waitForLog(/group 'app' \(pid \d+\) ready[\s\S]*group 'app' \(pid \d+\) ready/, 20_000);
    await server.waitForLog(/group 'other' \(pid \d+\) ready/, 20_000);
  }, 60_000);
  afterAll(() => server?.stop());

  test("an alias in a daemon group runs on the group's Python (pyenv 3.12), the embedded alias on Debian's 3.11, in other processes", async () => {
    const daemon = await whoami(`${server.url}/app/x?y`);
    const embedded = await whoami(`${server.url}/embedded`);
    expect(daemon.version).toStartWith("3.12.");
    expect(embedded.version).toStartWith("3.11.");
    expect(daemon.pid).not.toBe(embedded.pid);
    expect(daemon.pid).not.toBe(server.pid);
    expect(daemon.process_group).toBe("app");
    expect(embedded.process_group).toBe("");
    // processes= given: wsgi.multiprocess, as mod_wsgi sets it; the front (one process) is not.
    expect(daemon.multiprocess).toBe(true);
    expect(embedded.multiprocess).toBe(false);
    expect((await whoami(`${server.url}/other`)).multiprocess).toBe(false);
    // The request reaches the app as the client sent it: SCRIPT_NAME, PATH_INFO, the client's address.
    expect(daemon.script_name).toBe("/app");
    expect(daemon.path_info).toBe("/x");
    expect(daemon.remote_addr).toBe("127.0.0.1");
    expect(daemon.server_port).toBe(String(server.port));
    expect(daemon.protocol).toBe("HTTP/1.1");
    expect(daemon.http_headers).not.toContain("HTTP_WSGI_BIN_FRONT");
  });

  test("a group without python= runs the server's --python", async () => {
    const other = await whoami(`${server.url}/other`);
    expect(other.version).toStartWith("3.11.");
    expect(other.process_group).toBe("other");
  });

  test("processes=2 spreads requests over the group's two processes", async () => {
    const pids = await pidsOf(`${server.url}/app`, 20);
    expect(pids.size).toBe(2);
    const embedded = await whoami(`${server.url}/embedded`);
    expect(pids.has(embedded.pid)).toBe(false);
  });

  test("python-path= and home= apply in the group's processes only", async () => {
    const daemon = await whoami(`${server.url}/app?import=daemon_helper`);
    expect(daemon.imported).toBe(join(lib, "daemon_helper.py"));
    expect(daemon.path).toContain(lib);
    expect(daemon.cwd).toBe(home);
    const other = await whoami(`${server.url}/other`);
    expect(other.path).not.toContain(lib);
    expect(other.cwd).not.toBe(home);
  });

  test("display-name=%{GROUP} is what ps shows for the group's processes", async () => {
    const pids = await pidsOf(`${server.url}/app`, 10);
    for (const pid of pids) {
      const ps = Bun.spawnSync(["ps", "-o", "args=", "-p", String(pid)]).stdout.toString().trim();
      expect(ps).toStartWith("(wsgi:app)");
      expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("(wsgi:app)");
    }
  });

  test("the start and the role of each process are logged with its group and pid", () => {
    const log = server.log();
    expect(log).toMatch(/Supervisor \(pid \d+\) starting 1 process on port \d+, daemon process group 'app' \(2 processes\), daemon process group 'other' \(1 process\)\./);
    expect(log).toMatch(/Started daemon process 0 of group 'app' \(pid \d+\): at start-up\./);
    expect(log).toMatch(/Daemon process \d+ of group 'app' \(Python 3\.12\.\d+\) listening on unix:\S+\.sock with 4 threads\./);
    expect(log).toMatch(/wsgi-bin\/\S+ \(Python 3\.11\.\d+\) listening on http:\/\/[^ ]+ with 8 threads\./);
  });

  test("a client cannot forge the front's header: the daemon sees the real client", async () => {
    const forged = await whoami(`${server.url}/app`, { headers: { "WSGI-Bin-Front": "6.6.6.6 1 https 1" } });
    expect(forged.remote_addr).toBe("127.0.0.1");
    expect(forged.scheme).toBe("http");
    expect(forged.server_port).toBe(String(server.port));
  });

  test("a script edit restarts only its group, one process at a time, with zero failed requests under light load", async () => {
    const before = { app: await pidsOf(`${server.url}/app`), other: await whoami(`${server.url}/other`), front: await whoami(`${server.url}/embedded`) };
    expect(before.app.size).toBe(2);
    const from = server.log().length;
    const restarted = server.waitForLog(/Daemon process group 'app' restarted: 2 processes in [\d.]+ s\./, 30_000, from);
    const edit = Bun.sleep(700).then(() => writeScript(appScript, 2));
    const [app, other, front] = await loadUntil([`${server.url}/app`, `${server.url}/other`, `${server.url}/embedded`],
      Promise.all([edit, restarted]).then(() => Bun.sleep(500)));
    for (const result of [app, other, front]) {
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(10);
    }
    // The other group and the front kept their processes.
    expect([...other.pids]).toEqual([before.other.pid]);
    expect([...front.pids]).toEqual([before.front.pid]);
    // The group's processes are new ones, running the edited script; its old ones are gone.
    const after = await pidsOf(`${server.url}/app`);
    expect(after.size).toBe(2);
    for (const pid of before.app) expect(after.has(pid)).toBe(false);
    expect((await whoami(`${server.url}/app`)).generation).toBe(2);
    const log = server.log().slice(from);
    expect(log).toMatch(/WSGI script '.*app\.wsgi' changed since it was loaded: restarting daemon process group 'app'\./);
    expect(log).toMatch(/found a WSGI script changed: restarting daemon process group 'app' \(2 processes, one at a time\)\./);
    expect(log).toMatch(/Started daemon process \d of group 'app' \(pid \d+\): successor of pid \d+ \(script changed\)\./);
    expect(log).not.toContain("group 'other' (pid");
    expect(log).not.toMatch(/Started process/);
  }, 60_000);

  test("the embedded group still reloads a changed script in place: same process, no daemon restarted", async () => {
    const front = await whoami(`${server.url}/embedded`);
    const daemons = [...(await pidsOf(`${server.url}/app`)), (await whoami(`${server.url}/other`)).pid];
    const from = server.log().length;
    writeScript(embeddedScript, 2);
    const reloaded = await whoami(`${server.url}/embedded`);
    expect(reloaded.generation).toBe(2);
    expect(reloaded.pid).toBe(front.pid);
    expect(server.log().slice(from)).toContain("Reloading WSGI script");
    expect(server.log().slice(from)).not.toContain("restarting daemon process group");
    expect([...(await pidsOf(`${server.url}/app`)), (await whoami(`${server.url}/other`)).pid].sort()).toEqual(daemons.sort());
  }, 30_000);

  test("--import-script with process-group= loads in that group's processes, not in the front", () => {
    const lines = server.log().split("\n").filter((line) => line.includes("preloaded in"));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(/\[pid (\d+):tid \d+\] preloaded in \1$/);
    const front = /\[pid (\d+):tid \d+\] wsgi-bin\/\S+ \(Python/.exec(server.log())![1];
    for (const line of lines) expect(line).not.toContain(`[pid ${front}:`);
  });

  test("kill -9 of a daemon process: it is replaced, and the group's requests go on", async () => {
    const before = await pidsOf(`${server.url}/app`);
    const [victim] = [...before];
    const from = server.log().length;
    const replaced = server.waitForLog(new RegExp(`group 'app' \\(pid ${victim}\\) died with signal SIGKILL[\\s\\S]*group 'app' \\(pid \\d+\\) ready\\.`), 20_000, from);
    const kill = Bun.sleep(500).then(() => process.kill(victim!, "SIGKILL"));
    const [app] = await loadUntil([`${server.url}/app`], Promise.all([kill, replaced]).then(() => Bun.sleep(300)));
    // Only requests in flight on the killed process may fail (2 loops: at most 2).
    expect(app!.failed).toBeLessThanOrEqual(2);
    expect(app!.ok).toBeGreaterThan(10);
    const after = await pidsOf(`${server.url}/app`);
    expect(after.size).toBe(2);
    expect(after.has(victim!)).toBe(false);
  }, 40_000);

  test("kill -9 of a group's only process: its requests wait for the replacement (connect-timeout) and succeed", async () => {
    const victim = (await whoami(`${server.url}/other`)).pid;
    const from = server.log().length;
    process.kill(victim, "SIGKILL");
    await server.waitForLog(new RegExp(`group 'other' \\(pid ${victim}\\) died with signal SIGKILL`), 10_000, from);
    const answer = await whoami(`${server.url}/other`);
    expect(answer.pid).not.toBe(victim);
    await server.waitForLog(/Started daemon process 0 of group 'other' \(pid \d+\): replacing pid \d+, which died\./, 5000, from);
  }, 30_000);
});

describe("requests through a daemon group keep HTTP's rules", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startGroupG(4, { "/body": "body.wsgi", "/stream": "stream.wsgi", "/who": "whoami.wsgi" });
  }, 60_000);
  afterAll(() => server?.stop());

  test("a request body, declared or chunked, reaches the app whole (3 MB, echoed back)", async () => {
    const data = new Uint8Array(3_000_000).map((_, i) => (i * 7919) & 255);
    const digest = new Bun.CryptoHasher("sha256").update(data).digest("hex");
    const declared = await fetch(`${server.url}/body/echo`, { method: "POST", body: data });
    expect(declared.headers.get("x-body-sha256")).toBe(digest);
    expect(Buffer.from(await declared.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < data.length; at += 100_000) controller.enqueue(data.subarray(at, at + 100_000));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.url}/body/echo`, { method: "POST", body: stream });
    expect(chunked.headers.get("x-body-length")).toBe(String(data.length));
    expect(chunked.headers.get("x-body-sha256")).toBe(digest);
    await chunked.arrayBuffer();
  });

  test("Expect: 100-continue is answered once the daemon's app reads; keep-alive, HEAD, HTTP/1.0 and streaming hold", async () => {
    const client = new WireClient(server.port);
    try {
      await client.send(`POST /body/read HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
      const interim = await client.response();
      expect(interim.status).toBe(100);
      await client.send("hello");
      const posted = await client.response();
      expect(posted.status).toBe(200);
      expect(JSON.parse(posted.body.toString()).length).toBe(5);
      // The same connection, kept alive: a HEAD of a streamed response has no body and no framing.
      await client.send(request("/stream", "", "HEAD"));
      const head = await client.response({ head: true });
      expect(head.status).toBe(200);
      expect(head.header("transfer-encoding")).toBeUndefined();
      await client.send(request("/stream"));
      const streamed = await client.response();
      expect(streamed.framing).toBe("chunked");
      expect(streamed.body.toString()).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    } finally {
      client.close();
    }
    const old = new WireClient(server.port);
    try {
      await old.send(request("/who", "", "GET", "HTTP/1.0"));
      const response = await old.response();
      expect(JSON.parse(response.body.toString()).protocol).toBe("HTTP/1.0");
      expect(await old.closed()).toBe(true);
    } finally {
      old.close();
    }
  });

  test("a client that goes away in the middle of a streamed response: the daemon serves on", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/stream"));
    await Bun.sleep(400);
    client.close();
    await Bun.sleep(1500);
    expect((await whoami(`${server.url}/who`)).process_group).toBe("g");
  });
});

describe("HTTP/1.0 clients, and clients that close, through a daemon group", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startGroupG(2, { "/links": "front-links.wsgi", "/who": "whoami.wsgi" });
  }, 60_000);
  afterAll(() => server?.stop());

  /** One request on a connection of its own, which the server must close after its response. */
  async function once(text: string) {
    const client = new WireClient(server.port);
    try {
      await client.send(text);
      const response = await client.response();
      expect(response.status).toBe(200);
      expect(response.header("connection")).toBe("close");
      expect(await client.closed()).toBe(true);
      return JSON.parse(response.body.toString());
    } finally {
      client.close();
    }
  }

  test("the front's connection to the daemon outlives its clients' (one connection for them all)", async () => {
    // Each response lists the connections open to the daemon's socket. The front used to forward an
    // HTTP/1.0 request as HTTP/1.0 and take the daemon's response (no Connection header) for a
    // persistent one: it pooled connections the daemon was closing, and under load some requests
    // failed with "the process closed the connection before responding".
    const seen = [];
    for (let i = 0; i < 3; i++) {
      seen.push(await once(request("/links", "", "GET", "HTTP/1.0")));
      seen.push(await once(request("/links", "Connection: close\r\n")));
    }
    expect(seen.map((links) => links.protocol)).toEqual(["HTTP/1.0", "HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/1.0", "HTTP/1.1"]);
    expect(seen[0].inodes.length).toBe(1);
    for (const links of seen) expect(links.inodes).toEqual(seen[0].inodes);
  });

  test("an HTTP/1.0 request without Host, and one with a body, reach the daemon's app", async () => {
    const bare = await once("GET /who HTTP/1.0\r\n\r\n");
    expect(bare.protocol).toBe("HTTP/1.0");
    expect(bare.process_group).toBe("g");
    const posted = await once("POST /who?body HTTP/1.0\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello");
    expect(posted.protocol).toBe("HTTP/1.0");
    expect(posted.body_length).toBe(5);
  });
});

describe("a daemon group's lifecycle", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      python: DEBIAN,
      args: [
        "--log-level", "info",
        "--daemon-process", "g,processes=2,threads=4,maximum-requests=15",
        "--alias", `/g=${fixture("whoami.wsgi")},process-group=g`,
        "--alias", `/e=${fixture("whoami.wsgi")}`,
      ],
    });
    await server.waitForLog(/group 'g' \(pid \d+\) ready[\s\S]*group 'g' \(pid \d+\) ready/, 20_000);
  }, 60_000);
  afterAll(() => server?.stop());

  test("maximum-requests= recycles the group's processes, successor first, with no failed request", async () => {
    const from = server.log().length;
    const before = await pidsOf(`${server.url}/g`, 4);
    const recycled = server.waitForLog(/group 'g' \(pid \d+\) stopped \(exit code 0\): replaced by pid \d+ \(maximum-requests\)/, 20_000, from);
    const [g] = await loadUntil([`${server.url}/g`], recycled.then(() => Bun.sleep(300)));
    expect(g!.failed).toBe(0);
    expect(server.log().slice(from)).toMatch(/Daemon process \d of group 'g' \(pid \d+\) reached its maximum-requests: replacing it\./);
    expect([...g!.pids].filter((pid) => !before.has(pid)).length).toBeGreaterThan(0);
  }, 30_000);

  test("SIGHUP under load: every process, fronts and daemons, is replaced with zero failed requests", async () => {
    const before = { g: await pidsOf(`${server.url}/g`), e: await whoami(`${server.url}/e`) };
    const from = server.log().length;
    const reloaded = Bun.sleep(500).then(async () => {
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog(/replacing processes gracefully/, 5000, from);
      await server.waitForLog(/Process 0 \(pid \d+\) stopped \(exit code 0\): replaced by pid \d+ \(SIGHUP reload\)/, 20_000, from);
      await server.waitForLog(/group 'g' \(pid \d+\) stopped[^\n]*SIGHUP reload[\s\S]*group 'g' \(pid \d+\) stopped[^\n]*SIGHUP reload/, 20_000, from);
    });
    const [g, e] = await loadUntil([`${server.url}/g`, `${server.url}/e`], reloaded.then(() => Bun.sleep(300)));
    for (const result of [g!, e!]) {
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(10);
    }
    const after = await pidsOf(`${server.url}/g`);
    for (const pid of before.g) expect(after.has(pid)).toBe(false);
    expect((await whoami(`${server.url}/e`)).pid).not.toBe(before.e.pid);
  }, 60_000);

  test("SIGTERM with a slow request in flight on a daemon: it completes, then every process exits 0", async () => {
    const slow = fetch(`${server.url}/g?sleep1.5`).then(async (r) => [r.status, (await r.json()).process_group] as const);
    await Bun.sleep(300);
    const code = server.stop();
    expect(await slow).toEqual([200, "g"]);
    expect(await code).toBe(0);
    const log = server.log();
    expect(log).toMatch(/Daemon process \d+ of group 'g' exiting after SIGTERM\./);
    expect(log).toContain("All processes stopped");
  }, 60_000);
});

describe("a group with no process to take requests", () => {
  test("answers 503 after its connect-timeout, and the rest of the server serves on", async () => {
    const server = await start({
      python: DEBIAN,
      args: [
        "--daemon-process", `broken,home=${join(tempDir(), "missing")},connect-timeout=1`,
        "--alias", `/broken=${fixture("whoami.wsgi")},process-group=broken`,
        "--alias", `/ok=${fixture("whoami.wsgi")}`,
      ],
    });
    try {
      await server.waitForLog(/could not start: daemon process group 'broken': home=.*missing/, 20_000);
      const started = Date.now();
      const response = await fetch(`${server.url}/broken`);
      expect(response.status).toBe(503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(server.log()).toContain("Unable to connect to WSGI daemon process 'broken' within its connect-timeout of 1 s");
      expect((await whoami(`${server.url}/ok`)).process_group).toBe("");
    } finally {
      await server.stop();
    }
  }, 40_000);
});

describe("user= and group=", () => {
  test("a group's processes run as its user and group (started as root); the front stays as it was", async () => {
    // The script and its directory must be readable by that user.
    const dir = tempDir("wsgi-bin-user-");
    chmodSync(dir, 0o755);
    const script = join(dir, "app.wsgi");
    copyFileSync(fixture("whoami.wsgi"), script);
    chmodSync(script, 0o644);
    const server = await start({
      python: DEBIAN,
      args: [
        "--daemon-process", "nobody,user=nobody,group=nogroup",
        "--alias", `/nobody=${script},process-group=nobody`,
        "--alias", `/front=${script}`,
      ],
    });
    try {
      await server.waitForLog(/of group 'nobody' \(Python [\d.]+\) listening on unix:/, 20_000);
      const daemon = await whoami(`${server.url}/nobody`);
      const front = await whoami(`${server.url}/front`);
      if (process.getuid!() === 0) {
        expect(daemon.uid).toBe(65534);
        expect(daemon.gid).toBe(65534);
      } else {
        expect(daemon.uid).toBe(process.getuid!());
        expect(server.log()).toContain("user=/group= ignored: wsgi-bin was not started as root");
      }
      expect(front.uid).toBe(process.getuid!());
    } finally {
      await server.stop();
    }
  }, 40_000);

  test("an unknown user, or root, is refused before anything starts", async () => {
    const unknown = await run(["--daemon-process", "g,user=no-such-user-here", "--alias", `/a=${fixture("whoami.wsgi")},process-group=g`, "--port", "0", "--python", DEBIAN]);
    if (process.getuid!() === 0) {
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("daemon process group 'g': user=no-such-user-here: no such user");
    }
    const root = await run(["--daemon-process", "g,user=root", "--alias", `/a=${fixture("whoami.wsgi")},process-group=g`]);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain("may not run as root");
  }, 30_000);
});

describe("--config with WSGIDaemonProcess and WSGIProcessGroup", () => {
  test("serves the same: the daemon group on its python-home (pyenv 3.12), the embedded route on --python", async () => {
    const dir = tempDir("wsgi-bin-daemon-config-");
    const home = join(dir, "home");
    mkdirSync(home);
    const prefix = join(pyenv312(), "../..");
    const port = await freePort();
    const conf = join(dir, "site.conf");
    writeFileSync(conf, [
      `Listen ${port}`,
      `WSGIDaemonProcess app processes=2 threads=3 python-home=${prefix} home=${home} display-name=%{GROUP}`,
      `WSGIScriptAlias /app ${fixture("whoami.wsgi")}`,
      `<Location /app>`,
      `    WSGIProcessGroup app`,
      `</Location>`,
      `WSGIScriptAlias /embedded ${fixture("whoami.wsgi")}`,
      "",
    ].join("\n"));
    const check = await run(["--config", conf, "--check-config"]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`  app: processes=2 threads=3 python-home=${prefix} graceful-timeout=30 home=${home} display-name=%{GROUP}`);
    expect(check.stdout).toMatch(/1\. wsgi \/app -> .*; process group app;[^]*2\. wsgi \/embedded -> .*; process group %\{GLOBAL\} \(embedded\)/);
    expect(check.stdout).toContain("embedded group: 1 process, 8 threads; daemon group app: 2 processes, 3 threads");
    expect(check.stderr).toBe("");
    const server = await start({ args: ["--config", conf, "--log-level", "info"], python: DEBIAN });
    try {
      await server.waitForLog(/group 'app' \(pid \d+\) ready[\s\S]*group 'app' \(pid \d+\) ready/, 20_000);
      const daemon = await whoami(`${server.url}/app`);
      expect(daemon.version).toStartWith("3.12.");
      expect(daemon.process_group).toBe("app");
      expect(daemon.cwd).toBe(home);
      expect(daemon.multiprocess).toBe(true);
      const embedded = await whoami(`${server.url}/embedded`);
      expect(embedded.version).toStartWith("3.11.");
      expect(embedded.process_group).toBe("");
      expect((await pidsOf(`${server.url}/app`, 20)).size).toBe(2);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("WSGIProcessGroup in a <Location> inside a route", () => {
  test("applies to the requests under it, as in mod_wsgi: the rest of the route stays in its own group; an undefined group answers 500", async () => {
    const dir = tempDir("wsgi-bin-daemon-location-");
    const port = await freePort();
    const conf = join(dir, "site.conf");
    writeFileSync(conf, [
      `Listen ${port}`,
      "WSGIDaemonProcess other processes=1 threads=2",
      `WSGIScriptAlias / ${fixture("whoami.wsgi")}`,
      `WSGIScriptAlias /daemon ${fixture("whoami.wsgi")}`,
      "<Location /sub>",
      "    WSGIProcessGroup other",
      "</Location>",
      "<Location /nowhere>",
      "    WSGIProcessGroup nowhere",
      "</Location>",
      "<Location /daemon>",
      "    WSGIProcessGroup other",
      "</Location>",
      "<Location /daemon/local>",
      "    WSGIProcessGroup %{GLOBAL}",
      "</Location>",
      "",
    ].join("\n"));
    const check = await run(["--config", conf, "--check-config"]);
    expect(check.stdout).toMatch(/wsgi \/ -> .*; process group %\{GLOBAL\} \(embedded\) \(parts of it: other, nowhere, by sections inside\);/);
    expect(check.stdout).toMatch(/wsgi \/daemon -> .*; process group other \(parts of it: %\{GLOBAL\}, by sections inside\);/);
    const server = await start({ args: ["--config", conf, "--log-level", "info"], python: DEBIAN });
    try {
      await server.waitForLog(/group 'other' \(pid \d+\) ready/, 20_000);
      const front = await whoami(`${server.url}/x`);
      expect(front.process_group).toBe("");
      const sub = await whoami(`${server.url}/sub/x`);
      expect(sub.process_group).toBe("other");
      expect(sub.pid).not.toBe(front.pid);
      // A route of the daemon group with an embedded part: the front runs that part itself.
      expect((await whoami(`${server.url}/daemon/x`)).pid).toBe(sub.pid);
      const local = await whoami(`${server.url}/daemon/local/x`);
      expect(local.process_group).toBe("");
      expect(local.pid).toBe(front.pid);
      const missing = await fetch(`${server.url}/nowhere/x`);
      expect(missing.status).toBe(500);
      expect(server.log()).toContain("<location> names process group 'nowhere', which no WSGIDaemonProcess defines");
      // The line is written before the 500, but reaches the test through the server's stderr pipe: waited for.
      await server.waitForLog(/No WSGI daemon process called 'nowhere' has been configured: .*\/whoami\.wsgi/);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("a daemon group behind several virtual hosts and listeners", () => {
  test("each request is routed as its listener and Host say: SERVER_NAME, %{RESOURCE}, SetEnv; Header rules apply once; Require holds", async () => {
    const dir = tempDir("wsgi-bin-daemon-vhosts-");
    const [first, two] = [await freePort(), await freePort()];
    const who = fixture("whoami.wsgi");
    const conf = join(dir, "site.conf");
    writeFileSync(conf, [
      `Listen ${first}`,
      `Listen ${two}`,
      `WSGIDaemonProcess app threads=2`,
      `<VirtualHost *:${first}>`,
      `    ServerName one.test`,
      `    WSGIScriptAlias /who ${who} process-group=app`,
      `    SetEnv FROM_HOST one`,
      `    Header add X-Added once`,
      `    <Location /who/private>`,
      `        Require ip 10.0.0.0/8`,
      `    </Location>`,
      `</VirtualHost>`,
      `<VirtualHost *:${first}>`,
      `    ServerName two.test`,
      `    WSGIScriptAlias /who ${who}`,
      `    <Location /who>`,
      `        WSGIProcessGroup app`,
      `    </Location>`,
      `    SetEnv FROM_HOST two`,
      `</VirtualHost>`,
      `<VirtualHost *:${two}>`,
      `    ServerName three.test`,
      `    WSGIScriptAlias /who ${who} process-group=app`,
      `    SetEnv FROM_HOST three`,
      `</VirtualHost>`,
      "",
    ].join("\n"));
    const server = await start({ args: ["--config", conf], python: DEBIAN });
    try {
      await server.waitForLog(/of group 'app' \(Python [\d.]+\) listening on unix:/, 20_000);
      // The helper moves the first Listen (--port), and the virtual hosts on it move along.
      const one = Number(new URL(server.url).port);
      await server.waitForLog(new RegExp(`listening on http://0\\.0\\.0\\.0:${one}/, http://0\\.0\\.0\\.0:${two}/`), 20_000);
      const ask = async (port: number, host: string, path = "/who/x") => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { host } });
        return { response, body: response.status === 200 ? await response.json() as Whoami & { set_env: string; application_group: string; server_name: string } : null };
      };
      const first = await ask(one, "one.test");
      expect(first.body!.process_group).toBe("app");
      expect(first.body!.server_name).toBe("one.test");
      expect(first.body!.application_group).toBe(`one.test:${one}|/who`);
      expect(first.body!.set_env).toBe("one");
      expect(first.body!.script_name).toBe("/who");
      expect(first.body!.path_info).toBe("/x");
      expect(first.response.headers.get("x-added")).toBe("once"); // not "once, once": the daemon does not apply it too
      const second = await ask(one, "two.test");
      expect(second.body!.process_group).toBe("app");
      expect(second.body!.set_env).toBe("two");
      expect(second.body!.application_group).toBe(`two.test:${one}|/who`);
      expect(second.response.headers.get("x-added")).toBeNull();
      const third = await ask(two, "three.test");
      expect(third.body!.process_group).toBe("app");
      expect(third.body!.set_env).toBe("three");
      expect(third.body!.application_group).toBe(`three.test:${two}|/who`);
      expect(third.body!.pid).toBe(first.body!.pid); // one process serves the group for every host
      expect((await ask(one, "one.test", "/who/private")).response.status).toBe(403);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("parallel interpreters in a daemon group", () => {
  test("a group on Python 3.12 runs an alias as two own-GIL interpreters, beside a front on Debian's 3.11", async () => {
    const server = await start({
      python: DEBIAN,
      args: [
        "--daemon-process", `g,threads=2,python=${pyenv312()}`,
        "--alias", `/p=${fixture("parallel.wsgi")},process-group=g,parallel-interpreters=2`,
        "--alias", `/e=${fixture("whoami.wsgi")}`,
        "--log-level", "info",
      ],
    });
    try {
      await server.waitForLog(/of group 'g' \(Python 3\.12\.\d+\) listening on unix:/, 20_000);
      const [a, b] = await Promise.all([getJson(`${server.url}/p?sleep=300`), getJson(`${server.url}/p?sleep=300`)]) as { interpreter: number }[];
      expect(a!.interpreter).not.toBe(b!.interpreter);
      expect(server.log()).toMatch(/Application group '[^']*\|\/p' runs in 2 interpreters, each with its own GIL/);
      expect((await whoami(`${server.url}/e`)).version).toStartWith("3.11.");
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("a group on Python 3.11 asked for them is refused before anything starts (exit 2)", async () => {
    const r = await run(["--python", DEBIAN, "--daemon-process", "g", "--alias", `/p=${fixture("parallel.wsgi")},process-group=g,parallel-interpreters=2`, "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("parallel interpreters need Python 3.12 or later");
    expect(r.stderr).toContain("'/p' (2)");
  }, 30_000);
});

describe("bad --daemon-process and process-group= flags", () => {
  const script = fixture("whoami.wsgi");
  for (const [what, args, message] of [
    ["an undefined process group", ["--alias", `/a=${script},process-group=nope`], "process-group 'nope' is not defined"],
    ["a group declared twice", ["--daemon-process", "g", "--daemon-process", "g", "--alias", `/a=${script}`], "--daemon-process 'g' declared twice"],
    ["an unknown option", ["--daemon-process", "g,colour=red", "--alias", `/a=${script}`], "unknown option 'colour'"],
    ["an option wsgi-bin does not implement", ["--daemon-process", "g,umask=0022", "--alias", `/a=${script}`], "umask= is not implemented by wsgi-bin"],
    ["a bad number", ["--daemon-process", "g,processes=many", "--alias", `/a=${script}`], "processes= wants a whole number from 1 to 64"],
    ["an import script for an undefined group", ["--import-script", `${script},application-group=%{GLOBAL},process-group=x`, "--alias", `/a=${script}`], "process-group 'x' is not defined"],
  ] as const) {
    test(`${what}: exit 2 with a clear message`, async () => {
      const r = await run([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    });
  }
});
