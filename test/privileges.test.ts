// --user / --group (Apache's User and Group): started as root (as this test machine runs), a process
// binds its port, then becomes the user before Python starts; the app reports who it runs as.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { BUN, cleanupTemps, fixture, getJson, MAIN, rawRequest, run, start, tempDir } from "./helpers/server.ts";

const NOBODY = 65534; // Debian's nobody and nogroup
const APP = ["--alias", `/id=${fixture("identity.wsgi")}`, "--host", "127.0.0.1"];

/** A free port below 1024: only root may bind it (net.ipv4.ip_unprivileged_port_start is 1024 here). */
async function lowPort(): Promise<number> {
  for (let port = 900; port < 1000; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 900-999");
}

/** The uid that created the socket listening on `port` (/proc/net/tcp's uid column). */
function listenerUid(port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/tcp", "latin1").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(`:${hex}`) && fields[3] === "0A") return Number(fields[7]);
  }
  return undefined;
}

beforeAll(() => {
  // These tests are about starting as root; the test machine runs them as root.
  expect(process.getuid!()).toBe(0);
  expect(Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "latin1"))).toBeGreaterThan(999);
});
afterAll(cleanupTemps);

describe("--user nobody --group nogroup, started as root", () => {
  test("binds a port below 1024 as root, then runs Python and the app as nobody; the root-only error log opened before still takes the app's output", async () => {
    const port = await lowPort();
    const dir = tempDir();
    chmodSync(dir, 0o700);
    const errorLog = join(dir, "error.log");
    writeFileSync(errorLog, "", { mode: 0o600 }); // root's, unreadable and unwritable for nobody
    const server = await start({ args: [...APP, "--port", String(port), "--user", "nobody", "--group", "nogroup", "--error-log", errorLog] });
    try {
      const identity = await getJson(`http://127.0.0.1:${port}/id`);
      expect(identity).toMatchObject({ uid: NOBODY, euid: NOBODY, gid: NOBODY, egid: NOBODY, resuid: [NOBODY, NOBODY, NOBODY], resgid: [NOBODY, NOBODY, NOBODY] });
      expect(identity.groups).not.toContain(0);
      expect(listenerUid(port)).toBe(0); // the listening socket was made while still root
      await server.waitForLog(new RegExp(`Dropped root privileges after binding port ${port}: now user 'nobody' \\(uid ${NOBODY}\\), group 'nogroup' \\(gid ${NOBODY}\\)`));
      await server.waitForLog(new RegExp(`identity asked for by pid ${identity.pid}`));
      expect(statSync(errorLog).uid).toBe(0);
      expect(statSync(errorLog).mode & 0o077).toBe(0);
      // Python starts after the drop: its notice follows the drop's.
      const log = server.log();
      expect(log.indexOf("Dropped root privileges")).toBeLessThan(log.indexOf("Initializing Python"));
    } finally {
      await server.stop();
    }
  });

  test("--user alone takes the user's primary group", async () => {
    const server = await start({ args: [...APP, "--user", "nobody"] });
    try {
      expect(await getJson(`${server.url}/id`)).toMatchObject({ uid: NOBODY, gid: NOBODY });
      await server.waitForLog(/now user 'nobody' \(uid 65534\), group 'nogroup' \(gid 65534\)/);
    } finally {
      await server.stop();
    }
  });

  test("#UID and #GID are numeric ids, as in Apache's User and Group", async () => {
    const server = await start({ args: [...APP, "--user", `#${NOBODY}`, "--group", "#65533"] });
    try {
      expect(await getJson(`${server.url}/id`)).toMatchObject({ uid: NOBODY, euid: NOBODY, gid: 65533, egid: 65533 });
    } finally {
      await server.stop();
    }
  });

  test("with --processes 2 each process binds, then drops: every one runs the app as nobody", async () => {
    const port = await lowPort();
    const server = await start({ args: [...APP, "--port", String(port), "--user", "nobody", "--processes", "2"] });
    try {
      await server.waitForLog(/listening on [\s\S]*listening on /, 20_000); // both processes up
      const seen = new Map<number, { uid: number; gid: number }>();
      for (let i = 0; i < 60 && seen.size < 2; i++) {
        // A new connection each time: the kernel spreads connections, not requests, over the processes.
        const answer = (await rawRequest(port, "GET /id HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).toString("latin1");
        const identity = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
        seen.set(identity.pid, identity);
      }
      expect(seen.size).toBe(2);
      for (const identity of seen.values()) expect(identity).toMatchObject({ uid: NOBODY, gid: NOBODY });
      for (const pid of seen.keys()) await server.waitForLog(new RegExp(`\\[pid ${pid}:tid \\d+\\] Dropped root privileges after binding port ${port}`));
    } finally {
      await server.stop();
    }
  });
});

describe("without --user, or not root", () => {
  test("root without --user: the app runs as root, and the log says so", async () => {
    const server = await start({ args: APP });
    try {
      expect((await getJson(`${server.url}/id`)).uid).toBe(0);
      await server.waitForLog(/\[wsgi:warn\] .*Running as root without --user: the Python application runs as root \(uid 0\).*Give --user NAME/);
    } finally {
      await server.stop();
    }
  });

  test("not root with --user another user: a clear error before anything is bound, exit status 1", async () => {
    const result = await run(["--user", "www-data", ...APP, "--port", "0"], {
      command: ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BUN, MAIN],
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--user www-data: only root can switch to another user, and wsgi-bin runs as uid 65534 (nobody)");
  });

  test("not root with --user being who it already is: nothing to switch, it serves", async () => {
    const server = await start({
      args: [...APP, "--user", "nobody", "--group", "nogroup"],
      command: ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BUN, MAIN],
    });
    try {
      expect((await getJson(`${server.url}/id`)).uid).toBe(NOBODY);
      expect(server.log()).not.toContain("Dropped root privileges");
    } finally {
      await server.stop();
    }
  });

  test("an unknown user or group is an error; --group without --user a usage error", async () => {
    const user = await run(["--user", "no-such-user-here", ...APP]);
    expect(user.code).toBe(1);
    expect(user.stderr).toContain("--user no-such-user-here: no such user");
    const group = await run(["--user", "nobody", "--group", "no-such-group-here", ...APP]);
    expect(group.code).toBe(1);
    expect(group.stderr).toContain("--group no-such-group-here: no such group");
    const alone = await run(["--group", "nogroup", ...APP]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--group needs --user");
  });
});
