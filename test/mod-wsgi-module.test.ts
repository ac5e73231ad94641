// `import mod_wsgi` inside an app, as under Apache + mod_wsgi 4.9: the module's constants in every kind
// of interpreter (embedded, %{GLOBAL}, a daemon process group, parallel replicas), its events with
// their arguments, request_data() and active_requests, the metrics, and the shutdown callbacks a
// graceful stop runs. Compared with Apache where the configuration is the same (test/fixtures/site/mod-wsgi.conf).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startBoth, type BothServers } from "./helpers/apache.ts";
import { discoverPythons } from "./helpers/pythons.ts";
import { cleanupTemps, FIXTURES, fixture, getJson, start, tempDir } from "./helpers/server.ts";

afterAll(() => cleanupTemps());

const APP = fixture("mod-wsgi.wsgi");

/** mod_wsgi's module as Apache shows it (the names dir() lists, without the dunders). */
const MODULE_NAMES = ["FileWrapper", "active_requests", "application_group", "event_callbacks", "maximum_processes",
  "process_group", "process_metrics", "request_data", "request_metrics", "server_metrics", "shutdown_callbacks",
  "subscribe_events", "subscribe_shutdown", "threads_per_process", "version"];

/**
 * The arguments mod_wsgi passes that wsgi-bin leaves out (docs/known-limitations.md): the request
 * body's and the response's byte and time counts, which the adapter does not measure.
 */
const LEFT_OUT = ["input_length", "input_reads", "input_time", "output_length", "output_time", "output_writes",
  // mod_wsgi gives these only when the thread had used user CPU time by the request's start (its
  // Adapter_run): a fresh Apache thread's first request may come without them, so neither side's count.
  "cpu_user_time", "cpu_system_time"];

interface EventSummary {
  name: string;
  args: string[];
  request_id: string | null;
  [key: string]: unknown;
}

/** The events recorded for one request, from the app's ?events. */
async function eventsOf(url: string, requestId: string): Promise<EventSummary[]> {
  const events = (await getJson(`${url}?events`)) as EventSummary[];
  return events.filter((event) => event.request_id === requestId);
}

describe("the mod_wsgi module under Apache + mod_wsgi and under wsgi-bin (the same configuration)", () => {
  let both: BothServers;
  // With the Host fetch sends (the port in it): Apache names the application group after the Host.
  const ask = (base: string, path: string) => getJson(`${base}${path}`);
  beforeAll(async () => {
    both = await startBoth(fixture("site/mod-wsgi.conf"), ["authz_core", "mime", "alias", "wsgi"], { FIXTURES });
  }, 60_000);
  afterAll(() => both?.stop(), 30_000);

  for (const path of ["/app", "/global", "/d"]) {
    test(`${path}: the module's names and constants`, async () => {
      const [theirs, mine] = await Promise.all([ask(both.apache.url, `${path}?constants`), ask(both.ours.url, `${path}?constants`)]);
      // The application group names the port each server listens on.
      const unported = (c: any) => ({ ...c, application_group: c.application_group.replace(/:\d+\|/, ":PORT|"),
        environ_application_group: c.environ_application_group.replace(/:\d+\|/, ":PORT|") });
      // server_metrics(): Apache's scoreboard, which wsgi-bin has none of (None, as a daemon process's without server-metrics=On).
      expect({ ...unported(mine), server_metrics: "-" }).toEqual({ ...unported(theirs), server_metrics: "-" });
      expect(mine.server_metrics).toBe(true);
      expect(theirs.server_metrics).toBe(path === "/d");
      expect(mine.dir).toEqual(MODULE_NAMES);
      expect(mine.application_group).toBe(mine.environ_application_group);
    });
  }

  test("/d: a daemon group's constants are its processes= and threads=", async () => {
    const mine = await ask(both.ours.url, "/d?constants");
    expect(mine).toMatchObject({ process_group: "modwsgid", maximum_processes: 2, threads_per_process: 3 });
  });

  test("the events of a request, in order, with mod_wsgi's arguments (less the byte counts wsgi-bin leaves out)", async () => {
    const sequences: EventSummary[][] = [];
    for (const base of [both.apache.url, both.ours.url]) {
      const { request_id } = await ask(base, "/app?hello");
      const events = await eventsOf(`${base}/app`, request_id);
      sequences.push(events.map((event) => ({ ...event, args: event.args.filter((arg) => !LEFT_OUT.includes(arg)), request_id: "ID" })));
    }
    const [theirs, mine] = sequences;
    expect(mine).toEqual(theirs!);
    expect(mine!.map((event) => event.name)).toEqual(["request_started", "response_started", "request_finished"]);
  });

  test("an application that raises: request_exception between request_started and request_finished", async () => {
    const sequences: EventSummary[][] = [];
    for (const base of [both.apache.url, both.ours.url]) {
      const response = await fetch(`${base}/app?raise`);
      expect(response.status).toBe(500);
      // The failed request's events, before the one of the ?events request itself.
      const events = ((await ask(base, "/app?events")) as EventSummary[]).slice(-4, -1);
      sequences.push(events.map((event) => ({ ...event, args: event.args.filter((arg) => !LEFT_OUT.includes(arg)), request_id: "ID" })));
    }
    const [theirs, mine] = sequences;
    expect(mine).toEqual(theirs!);
    expect(mine!.map((event) => event.name)).toEqual(["request_started", "request_exception", "request_finished"]);
    expect(mine![1]!.exception).toBe("ValueError('the application fails')");
  });

  test("process_metrics() and request_metrics() have mod_wsgi's keys", async () => {
    const [theirs, mine] = await Promise.all([ask(both.apache.url, "/app?metrics"), ask(both.ours.url, "/app?metrics")]);
    for (const field of ["keys", "pid", "active_requests", "busy", "times", "request_metrics_again"]) expect(mine[field]).toEqual(theirs[field]);
    expect(mine.threads).toEqual(mine.threads.map(() => ["request_count", "thread_id"]));
  });
});

describe("the mod_wsgi module under wsgi-bin", () => {
  test("embedded: --processes and --threads are maximum_processes and threads_per_process; %{GLOBAL}'s group is ''", async () => {
    const server = await start({ args: ["--processes", "2", "--threads", "3", "--alias", `/a=${APP}`, "--alias", `/g=${APP},application-group=%{GLOBAL}`] });
    try {
      const a = await getJson(`${server.url}/a?constants`);
      expect(a).toMatchObject({ dir: MODULE_NAMES, version: [4, 9, 4], process_group: "", maximum_processes: 2, threads_per_process: 3,
        file_wrapper: true, callback_lists: ["list", "list"], request_data: ["dict", true], server_metrics: true });
      expect(a.application_group).toMatch(/\|\/a$/);
      expect(a.application_group).toBe(a.environ_application_group);
      expect(await getJson(`${server.url}/g?constants`)).toMatchObject({ application_group: "", environ_application_group: "" });
    } finally {
      await server.stop();
    }
  });

  test("a daemon process group: its name, processes= and threads=", async () => {
    const server = await start({ args: ["--daemon-process", "grp,processes=1,threads=2", "--alias", `/d=${APP},process-group=grp`] });
    try {
      expect(await getJson(`${server.url}/d?constants`)).toMatchObject({ process_group: "grp", environ_process_group: "grp", maximum_processes: 1, threads_per_process: 2 });
    } finally {
      await server.stop();
    }
  });

  test("events: request_data() is the events' request_data; a callback may replace the application", async () => {
    const server = await start({ args: ["--alias", `/a=${APP}`] });
    try {
      const { request_id } = await getJson(`${server.url}/a?hello`);
      const events = await eventsOf(`${server.url}/a`, request_id);
      expect(events.map((event) => event.name)).toEqual(["request_started", "response_started", "request_finished"]);
      expect(events[0]).toMatchObject({ environ_is_its_own: true, application_is_app: true, times_ordered: true, request_data: [] });
      expect(events[1]).toMatchObject({ status: "200 OK", headers: [["Content-Type", "application/json"]], request_data: ["seen_by_app"] });
      expect(events[2]).toMatchObject({ application_time_ok: true, request_data: ["seen_by_app"] });
      expect(events[2]!.args).toEqual(["application_finish", "application_time", "cpu_system_time", "cpu_user_time", "request_data", "request_id"]);
      const wrapped = await fetch(`${server.url}/a?wrapped`);
      expect(await wrapped.text()).toBe("wrapped by an event callback");
    } finally {
      await server.stop();
    }
  });

  test("a callback that raises is logged, and the request and the other callbacks go on", async () => {
    const server = await start({ args: ["--alias", `/a=${APP}`] });
    try {
      expect(await getJson(`${server.url}/a?failing`)).toBe("subscribed");
      const { request_id } = await getJson(`${server.url}/a?hello`);
      expect((await eventsOf(`${server.url}/a`, request_id)).map((event) => event.name)).toEqual(["request_started", "response_started", "request_finished"]);
      await server.waitForLog(/RuntimeError: an event callback that fails: request_finished/);
      expect(server.log()).toMatch(/\[wsgi:error\].*Exception occurred within event callback\./);
      expect(server.log()).toContain("RuntimeError: an event callback that fails: request_started");
    } finally {
      await server.stop();
    }
  });

  test("process_metrics() counts this interpreter's requests; request_metrics() starts a period, then reports it", async () => {
    const server = await start({ args: ["--threads", "2", "--alias", `/a=${APP}`] });
    try {
      await getJson(`${server.url}/a?hello`);
      const first = await getJson(`${server.url}/a?metrics`);
      expect(first).toMatchObject({ pid: true, active_requests: 1, request_count: 1, busy: true, times: true, request_metrics: [] });
      expect(first.request_metrics_again).toContain("capacity_utilization");
      expect((await getJson(`${server.url}/a?metrics`)).request_count).toBe(2);
    } finally {
      await server.stop();
    }
  });

  /** Subscribes shutdown and event callbacks that write to a file, stops the server with SIGTERM, returns the file's lines. */
  async function stoppingLines(args: string[], path: string): Promise<{ lines: string[]; log: string; code: number | null }> {
    const file = join(tempDir(), "stop.txt");
    const server = await start({ args: [...args, "--log-level", "info"] });
    expect(await getJson(`${server.url}${path}?stop=${encodeURIComponent(file)}`)).toBe("subscribed");
    const code = await server.stop();
    return { lines: existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [], log: server.log(), code };
  }

  test("SIGTERM: process_stopping to the event callbacks, then the shutdown callbacks, before the atexit functions", async () => {
    const { lines, log, code } = await stoppingLines(["--alias", `/a=${APP}`], "/a");
    expect(code).toBe(0);
    expect(lines).toEqual(['event process_stopping {"shutdown_reason": ""}', 'shutdown process_stopping {"shutdown_reason": ""}']);
    expect(log).toMatch(/\[wsgi:error\].*shutdown callback: process_stopping \{'shutdown_reason': ''\}/);
    expect(log.indexOf("shutdown callback:")).toBeLessThan(log.indexOf("Running the exit functions"));
  });

  test("SIGTERM: a daemon process's shutdown callbacks run too", async () => {
    const { lines, code } = await stoppingLines(["--daemon-process", "d,processes=1,threads=2", "--alias", `/d=${APP},process-group=d`], "/d");
    expect(code).toBe(0);
    expect(lines).toEqual(['event process_stopping {"shutdown_reason": ""}', 'shutdown process_stopping {"shutdown_reason": ""}']);
  });

  const modern = discoverPythons().find((p) => Number(p.minor.split(".")[1]) >= 12);
  test("--parallel-interpreters 2 (Python 3.12+): each replica has its own module", async () => {
    expect(modern).toBeDefined();
    const server = await start({ args: ["--parallel-interpreters", "2", "--threads", "2", "--alias", `/p=${APP}`], python: modern!.executable });
    try {
      const answers = await Promise.all([1, 2, 3, 4].map(() => getJson(`${server.url}/p?constants`)));
      for (const answer of answers) expect(answer).toMatchObject({ dir: MODULE_NAMES, request_data: ["dict", true], threads_per_process: 2 });
      expect((await getJson(`${server.url}/p?metrics`)).times).toBe(true);
    } finally {
      await server.stop();
    }
  });

  for (const python of discoverPythons()) {
    test(`Python ${python.minor}: the module and its events`, async () => {
      const server = await start({ args: ["--alias", `/a=${APP}`], python: python.executable });
      try {
        expect(await getJson(`${server.url}/a?constants`)).toMatchObject({ dir: MODULE_NAMES, version: [4, 9, 4] });
        const { request_id } = await getJson(`${server.url}/a?hello`);
        expect((await eventsOf(`${server.url}/a`, request_id)).length).toBe(3);
        expect((await getJson(`${server.url}/a?metrics`)).times).toBe(true);
      } finally {
        await server.stop();
      }
    });
  }
});
