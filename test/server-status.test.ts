// --server-status [PATH] (mod_status): the front answers PATH (HTML), PATH?json and PATH/metrics
// (Prometheus) before any alias, to --server-status-allow addresses only; the figures move with real
// requests, and under --processes they are every process's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, get, getJson, run, start, type RunningServer } from "./helpers/server.ts";

const hello = fixture("hello.wsgi");
const sleep = fixture("sleep.wsgi");
const raises = fixture("raises.wsgi");

/** `count` GETs of `url`, `concurrency` at a time; their statuses. */
async function hammer(url: string, count: number, concurrency = 4): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      const response = await fetch(url);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
  }));
  return statuses;
}

const aliasOf = (report: any, alias: string) => report.aliases.find((a: any) => a.alias === alias);
const groupOf = (report: any, group: string) => report.interpreters.find((g: any) => g.group === group);

/** The value of one Prometheus sample line, e.g. sample(text, 'wsgi_bin_requests_total{alias="/hello"'). */
function sample(text: string, prefix: string): number {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no sample ${prefix} in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("--server-status", () => {
  let server: RunningServer;
  let status: string;
  beforeAll(async () => {
    server = await start({
      args: ["--server-status", "--threads", "2", "--log-level", "info",
        "--alias", `/hello=${hello}`, "--alias", `/sleep=${sleep},application-group=sleepers`, "--alias", `/raises=${raises}`],
    });
    status = `${server.url}/server-status`;
  });
  afterAll(() => server?.stop());

  test("the JSON figures move with real requests: counts, status codes, errors, latency, per alias and per interpreter", async () => {
    const before = await getJson(`${status}?json`);
    expect(before.supervisor).toBeNull();
    expect(before.processes.map((p: any) => p.pid)).toEqual([server.pid]);
    expect(before.totals.threads).toBe(2);

    const helloStatuses = await hammer(`${server.url}/hello`, 40);
    const raisesStatuses = await hammer(`${server.url}/raises`, 3, 1);
    expect(helloStatuses.every((s) => s === 200)).toBe(true);
    expect(raisesStatuses.every((s) => s === 500)).toBe(true);
    const after = await getJson(`${status}?json`);

    const helloBefore = aliasOf(before, "/hello");
    const helloAfter = aliasOf(after, "/hello");
    expect(helloAfter.requests - helloBefore.requests).toBe(40);
    expect(helloAfter.errors).toBe(helloBefore.errors);
    expect(helloAfter.p50Ms).toBeGreaterThan(0);
    expect(helloAfter.p99Ms).toBeGreaterThanOrEqual(helloAfter.p50Ms);
    expect(helloAfter.appMeanMs).toBeGreaterThan(0);
    expect(helloAfter.gilWaitMeanMs).toBeGreaterThanOrEqual(0);
    expect(aliasOf(after, "/raises").errors - aliasOf(before, "/raises").errors).toBe(3);
    expect((after.codes["500"] ?? 0) - (before.codes["500"] ?? 0)).toBe(3);
    // Every response counts, the status requests themselves included (the first one is in `after`).
    expect((after.codes["200"] ?? 0) - (before.codes["200"] ?? 0)).toBe(40 + 1);
    expect(after.totals.responses - before.totals.responses).toBe(40 + 3 + 1);
    // The per-second tally over the chart's window holds them too.
    const sum = (rate: number[]) => rate.reduce((a, b) => a + b, 0);
    expect(sum(after.rate) - sum(before.rate)).toBe(44);
    // Per interpreter: /hello runs in its own %{RESOURCE} group.
    const helloGroup = groupOf(after, helloAfter.group);
    expect(helloGroup.aliases).toEqual(["/hello"]);
    expect(helloGroup.requests).toBe(helloAfter.requests);
    expect(after.uptimeSeconds).toBeGreaterThan(before.uptimeSeconds);
  });

  test("busy threads, the queue and the time spent waiting for a thread show while requests wait", async () => {
    const before = aliasOf(await getJson(`${status}?json`), "/sleep");
    // Two threads, five requests of 0.4 s: three wait for a thread.
    const load = hammer(`${server.url}/sleep?0.4`, 5, 5);
    let seen = { busy: 0, queued: 0 };
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !(seen.busy === 2 && seen.queued > 0)) {
      const report = await getJson(`${status}?json`);
      seen = { busy: report.totals.busy, queued: report.totals.queued };
      await Bun.sleep(50);
    }
    expect(seen.busy).toBe(2);
    expect(seen.queued).toBeGreaterThan(0);
    expect((await load).every((s) => s === 200)).toBe(true);
    const report = await getJson(`${status}?json`);
    const after = aliasOf(report, "/sleep");
    expect(after.requests - before.requests).toBe(5);
    expect(after.group).toBe("sleepers");
    expect(groupOf(report, "sleepers").requests).toBe(after.requests);
    expect(after.p50Ms).toBeGreaterThan(350);
    expect(after.appMeanMs).toBeGreaterThan(300); // time.sleep is the app's time, GIL released or not
    expect(after.threadWaitP99Ms).toBeGreaterThan(300); // the third request waited for two 0.4 s ones
    expect(report.totals.busy).toBe(0);
    expect(report.totals.queued).toBe(0);
  });

  test("Prometheus text at PATH/metrics: the same counters, histograms whose count is the requests", async () => {
    await hammer(`${server.url}/hello`, 10);
    const response = await fetch(`${status}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await response.text();
    const report = await getJson(`${status}?json`);
    const hello = aliasOf(report, "/hello");
    const labels = `alias="/hello",group="${hello.group}"`;
    expect(sample(text, `wsgi_bin_requests_total{${labels}}`)).toBe(hello.requests);
    expect(sample(text, `wsgi_bin_request_duration_seconds_count{${labels}}`)).toBe(hello.requests);
    expect(sample(text, `wsgi_bin_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(hello.requests);
    expect(sample(text, `wsgi_bin_request_errors_total{alias="/raises"`)).toBe(aliasOf(report, "/raises").errors);
    expect(sample(text, 'wsgi_bin_threads{state="idle"}')).toBe(2);
    expect(sample(text, 'wsgi_bin_responses_total{code="500"}')).toBe(report.codes["500"]);
    // Cumulative buckets never decrease.
    const buckets = text.split("\n").filter((l) => l.startsWith(`wsgi_bin_request_duration_seconds_bucket{${labels}`)).map((l) => Number(l.split(" ").pop()));
    expect(buckets.length).toBeGreaterThan(10);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of text.trim().split("\n")) {
      if (!line.startsWith("#")) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$|^[a-z_]+(\{[^}]*\})? \+Inf$/);
    }
  });

  test("the HTML page, with and without a trailing slash; HEAD; other methods get 405", async () => {
    for (const url of [status, `${status}/`]) {
      const page = await get(url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(page.text).toContain('<svg id="chart"');
      expect(page.text).toContain("?json");
    }
    expect((await fetch(status, { method: "HEAD" })).status).toBe(200);
    const post = await fetch(status, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  test("a path below it is the status page too, as under mod_status's <Location>; one beside it goes to the aliases (404 here)", async () => {
    const below = await get(`${status}/other`);
    expect(below.status).toBe(200);
    expect(below.text).toContain("<title>wsgi-bin status</title>");
    expect((await get(`${server.url}/server-statusx`)).status).toBe(404);
  });
});

describe("--server-status-allow", () => {
  let denied: RunningServer;
  let allowed: RunningServer;
  beforeAll(async () => {
    [denied, allowed] = await Promise.all([
      // A range that excludes 127.0.0.1, the test's own address.
      start({ args: ["--server-status", "/status", "--server-status-allow", "10.0.0.0/8", "--server-status-allow", "::1", "--alias", `/hello=${hello}`] }),
      start({ args: ["--server-status=/status", "--server-status-allow", "127.0.0.1/32", "--alias", `/hello=${hello}`] }),
    ]);
  });
  afterAll(() => Promise.all([denied?.stop(), allowed?.stop()]));

  test("an address outside the allowed ranges gets 403 on the page, ?json and /metrics, logged; the aliases still serve", async () => {
    for (const path of ["/status", "/status?json", "/status/metrics"]) {
      const response = await get(`${denied.url}${path}`);
      expect(response.status).toBe(403);
      expect(response.text).toContain("Forbidden");
      expect(response.text).not.toContain("wsgi_bin");
    }
    await denied.waitForLog(/\[client 127\.0\.0\.1:\d+\] AH01630: client denied by server configuration: \/status\n/);
    expect((await get(`${denied.url}/hello`)).text).toBe("Hello World!");
  });

  test("an address inside them is answered", async () => {
    expect((await get(`${allowed.url}/status`)).status).toBe(200);
    expect((await getJson(`${allowed.url}/status?json`)).processes.length).toBe(1);
  });
});

describe("--server-status with --processes 2", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--processes", "2", "--threads", "2", "--log-level", "info", "--server-status", "/status", "--alias", `/p=${fixture("pid.wsgi")}`] });
    await server.waitForLog(/listening on[\s\S]*listening on/, 10_000);
  });
  afterAll(() => server?.stop());

  test("every process's figures, whichever process answers: pids, the supervisor, totals that add up", async () => {
    const before = await getJson(`${server.url}/status?json`);
    const servedBy = new Set<number>();
    for (let i = 0; i < 60; i++) {
      // A new connection each: SO_REUSEPORT spreads connections over both processes.
      const response = await fetch(`${server.url}/p`, { headers: { connection: "close" } });
      servedBy.add(Number((await response.text()).split(" ")[0]));
    }
    expect(servedBy.size).toBe(2);
    const answeredBy = new Set<number>();
    let report: any;
    for (let i = 0; i < 10; i++) {
      report = await getJson(`${server.url}/status?json`, { headers: { connection: "close" } });
      answeredBy.add(report.answeredBy);
      expect(report.supervisor.pid).toBe(server.pid);
      expect(report.missing).toEqual([]);
      expect(new Set(report.processes.map((p: any) => p.pid))).toEqual(servedBy);
      expect(new Set(report.supervisor.children.map((c: any) => c.pid))).toEqual(servedBy);
      expect(aliasOf(report, "/p").requests - aliasOf(before, "/p").requests).toBe(60);
      expect(report.totals.threads).toBe(4);
      expect(report.totals.responses).toBe(report.processes.reduce((n: number, p: any) => n + p.responses, 0));
    }
    expect(answeredBy.size).toBe(2); // both processes answered for both
    const metrics = await (await fetch(`${server.url}/status/metrics`)).text();
    expect(sample(metrics, 'wsgi_bin_processes{state="reporting"}')).toBe(2);
    for (const pid of servedBy) expect(metrics).toContain(`wsgi_bin_process_start_time_seconds{pid="${pid}"}`);
  });
});

describe("--server-status flags", () => {
  test("off by default: the path belongs to the aliases", async () => {
    const server = await start({ args: ["--alias", `/=${hello}`] });
    try {
      expect((await get(`${server.url}/server-status`)).text).toBe("Hello World!");
    } finally {
      await server.stop();
    }
  });

  const bad: [string, string[], RegExp][] = [
    ["--server-status-allow without --server-status", ["--server-status-allow", "10.0.0.0/8", hello], /--server-status-allow needs --server-status/],
    ["a bad address", ["--server-status", "--server-status-allow", "10.0.0/8", hello], /--server-status-allow: Require ip: '10\.0\.0\/8' is not an IP address/],
    ["a bad prefix", ["--server-status", "--server-status-allow", "10.0.0.0/33", hello], /--server-status-allow: Require ip: '10\.0\.0\.0\/33' is not an IP address/],
    ["a path without a slash", ["--server-status=status", hello], /--server-status wants a URL path/],
    ["the root as path", ["--server-status=/", hello], /--server-status wants a URL path/],
  ];
  for (const [what, args, message] of bad) {
    test(`${what}: usage error, exit 2`, async () => {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    });
  }

  test("a script argument right after --server-status stays the script", async () => {
    const server = await start({ args: ["--server-status", hello] });
    try {
      expect((await get(`${server.url}/`)).text).toBe("Hello World!");
      expect((await get(`${server.url}/server-status`)).text).toContain("<title>wsgi-bin status</title>");
    } finally {
      await server.stop();
    }
  });

  test("--help lists both flags", async () => {
    const result = await run(["--help"]);
    expect(result.stdout).toContain("--server-status [PATH]");
    expect(result.stdout).toContain("--server-status-allow ADDR[/BITS]");
  });
});
