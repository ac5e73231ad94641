// --parallel-interpreters K: an application group as K sub-interpreters, each with its own GIL (Python
// 3.12+), requests spread over them. Run against every 3.12+ Python found (test/helpers/pythons.ts);
// the refusals (an older Python, %{GLOBAL}, disagreeing aliases) need no particular one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemps, fixture, get, getJson, run, sleep, start, tempDir, type RunningServer } from "./helpers/server.ts";
import { discoverPythons } from "./helpers/pythons.ts";

const parallel = fixture("parallel.wsgi");
const singlePhase = fixture("single-phase.wsgi");
const hello = fixture("hello.wsgi");
const pythons = discoverPythons();
const modern = pythons.filter((p) => Number(p.minor.split(".")[1]) >= 12);
const older = pythons.find((p) => Number(p.minor.split(".")[1]) < 12);
afterAll(() => cleanupTemps());

test("a Python 3.12+ and an older one are found (else the tests below cannot run)", () => {
  console.log(`parallel interpreters tested on: ${modern.map((p) => `${p.version} (${p.source})`).join(", ") || "none"}`);
  expect(modern.length).toBeGreaterThan(0);
  expect(older).toBeDefined();
});

/** Two requests at once: each holds a thread for `ms`, so they run side by side. */
const pair = (url: string, ms = 300) =>
  Promise.all([getJson(`${url}${url.includes("?") ? "&" : "?"}sleep=${ms}`), getJson(`${url}${url.includes("?") ? "&" : "?"}sleep=${ms}`)]);

const reloadable = (text: string) => `
import time
try:
    import _interpreters as interpreters
except ImportError:
    import _xxsubinterpreters as interpreters


def application(environ, start_response):
    time.sleep(0.2)
    current = interpreters.get_current()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d ${text}" % int(current[0] if isinstance(current, tuple) else current)).encode()]
`;

for (const python of modern) {
  describe(`--parallel-interpreters on Python ${python.version} (${python.source})`, () => {
    let server: RunningServer;
    let dir: string;
    beforeAll(async () => {
      dir = tempDir();
      writeFileSync(join(dir, "app.wsgi"), reloadable("before"));
      server = await start({
        python: python.executable,
        args: [
          "--threads", "2",
          "--log-level", "info",
          "--request-timeout", "2",
          "--alias", `/p=${parallel},parallel-interpreters=2`,
          "--alias", `/state=${parallel},parallel-interpreters=2`,
          "--alias", `/one=${parallel}`,
          "--alias", `/refuse=${singlePhase},parallel-interpreters=2`,
          "--alias", `/refuse-shared=${singlePhase}`,
          "--alias", `/reload=${join(dir, "app.wsgi")},parallel-interpreters=2`,
          "--alias", `/stdlib=${fixture("stdlib.wsgi")},parallel-interpreters=2`,
        ],
      });
    });
    afterAll(() => server?.stop());

    test("two requests at once run in two interpreters, each created with its own GIL", async () => {
      const [a, b] = await pair(`${server.url}/p`);
      expect(a.interpreter).not.toBe(b.interpreter);
      expect(a.modules_id).not.toBe(b.modules_id);
      expect(a.group).toBe(b.group);
      const log = await server.waitForLog(/Create interpreter '[^']*\|\/p' \(2 of 2\) with its own GIL/);
      expect(log).toMatch(/Create interpreter '[^']*\|\/p' \(1 of 2\) with its own GIL/);
      expect(log).toMatch(/Application group '[^']*\|\/p' runs in 2 interpreters, each with its own GIL/);
    });

    test("the default, one interpreter, serves both from the same one", async () => {
      const [a, b] = await pair(`${server.url}/one`);
      expect(a.interpreter).toBe(b.interpreter);
      expect(a.modules_id).toBe(b.modules_id);
    });

    // A request holding its GIL in C for about 1 s (sum() over a range runs no bytecode, so it never
    // lets the GIL go) and a second request sent meanwhile. Python timestamps from both (one process,
    // one clock) say whether the second started running Python while the first still held its GIL.
    const overlapping = async (path: string) => {
      for (let attempt = 1; ; attempt++) {
        const first = getJson(`${server.url}${path}?hold=1000`);
        await sleep(250);
        const second = await getJson(`${server.url}${path}`);
        const held = await first;
        // The second must have been sent while the first held the GIL; else (a slow start) try again.
        if (second.started > held.hold_start || attempt === 3) return { first: held, second };
      }
    };

    test("Python runs in both at once: a request holding its GIL does not hold up the other interpreter", async () => {
      await pair(`${server.url}/p`, 10); // both interpreters exist and have the script loaded
      const { first, second } = await overlapping("/p");
      expect(second.interpreter).not.toBe(first.interpreter);
      expect(second.started).toBeGreaterThan(first.hold_start);
      expect(second.started).toBeLessThan(first.hold_end - 0.1); // well inside the hold
    });

    test("...while with one interpreter the second request waits for the GIL", async () => {
      const { first, second } = await overlapping("/one");
      expect(second.interpreter).toBe(first.interpreter);
      expect(second.started).toBeGreaterThan(first.hold_start);
      // Not before the hold ended: the first thread drops the GIL at its first bytecode after sum(),
      // possibly before it takes its own hold_end timestamp, hence an allowance (sent ~0.75 s earlier).
      expect(second.started).toBeGreaterThan(first.hold_end - 0.1);
    });

    test("module state is per interpreter: each counts only its own requests", async () => {
      const responses = (await Promise.all(Array.from({ length: 8 }, () => pair(`${server.url}/state`, 50)))).flat();
      const byInterpreter = new Map<number, { hits: number[]; shared: number[] }>();
      for (const r of responses) {
        const seen = byInterpreter.get(r.interpreter) ?? { hits: [], shared: [] };
        seen.hits.push(r.hits);
        seen.shared.push(r.shared);
        byInterpreter.set(r.interpreter, seen);
      }
      expect(byInterpreter.size).toBe(2);
      let total = 0;
      for (const { hits, shared } of byInterpreter.values()) {
        const expected = Array.from({ length: hits.length }, (_, i) => i + 1);
        expect(hits.sort((x, y) => x - y)).toEqual(expected); // the module global: 1..n in each, no gaps
        expect(shared.sort((x, y) => x - y)).toEqual(expected); // and a module in sys.modules likewise
        total += hits.length;
      }
      expect(total).toBe(16);
    });

    test("an edited script is reloaded in every interpreter", async () => {
      const before = await Promise.all([get(`${server.url}/reload`), get(`${server.url}/reload`)]);
      expect(before.map((r) => r.text.split(" ")[1])).toEqual(["before", "before"]);
      writeFileSync(join(dir, "app.wsgi"), reloadable("after"));
      const later = Date.now() / 1000 + 60;
      utimesSync(join(dir, "app.wsgi"), later, later);
      const seen = new Set<string>();
      for (let round = 0; round < 3; round++) {
        for (const r of await Promise.all([get(`${server.url}/reload`), get(`${server.url}/reload`)])) {
          expect(r.text.split(" ")[1]).toBe("after");
          seen.add(r.text.split(" ")[0]!);
        }
      }
      expect(seen.size).toBe(2);
      const reloads = server.log().match(/Reloading WSGI script '.*app\.wsgi'/g) ?? [];
      expect(reloads.length).toBe(2);
    });

    test("a single-phase init extension is refused: 500, and the log names it and says what to do", async () => {
      const r = await get(`${server.url}/refuse`);
      expect(r.status).toBe(500);
      const log = await server.waitForLog(/The C extension module '_curses' \(imported by '[^']*single-phase\.wsgi'\)/);
      expect(log).toContain("module _curses does not support loading in subinterpreters");
      expect(log).toMatch(/uses single-phase initialisation and refuses to load in an interpreter with its own GIL/);
      expect(log).toContain("parallel-interpreters=1");
      // The same script in an interpreter sharing the main GIL loads it.
      expect(await get(`${server.url}/refuse-shared`)).toMatchObject({ status: 200, text: "curses" });
    });

    test("datetime, decimal and zoneinfo work in every interpreter (and the process survives them)", async () => {
      const responses = (await Promise.all(Array.from({ length: 3 }, () => pair(`${server.url}/stdlib`, 100)))).flat();
      for (const r of responses) {
        expect(r.moment).toBe("2020-06-01T12:00:00+00:00");
        expect(r.decimal).toBe("3.305");
      }
      expect(new Set(responses.map((r) => r.modules_id)).size).toBe(2);
      expect((await get(`${server.url}/one`)).status).toBe(200); // still up
    });

    test("--request-timeout interrupts a request in a parallel interpreter", async () => {
      const started = Date.now();
      const r = await get(`${server.url}/p?spin=8000`);
      expect(r.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(6000);
      await server.waitForLog(/Request timeout expired for WSGI script '.*parallel\.wsgi'/);
    });
  });
}

describe("--import-script into a parallel group", () => {
  const python = modern[0];
  test.skipIf(!python)("loads the script into each of the K interpreters at start-up", async () => {
    const script = fixture("imported.wsgi");
    const server = await start({
      python: python!.executable,
      args: ["--threads", "2", "--log-level", "info",
        "--import-script", `${script},application-group=preloaded`,
        "--alias", `/i=${script},application-group=preloaded,parallel-interpreters=2`],
    });
    try {
      const log = await server.waitForLog(/into application group 'preloaded' \(interpreter 2 of 2\)/);
      expect(log).toMatch(/Imported WSGI script '.*imported\.wsgi' into application group 'preloaded' \(interpreter 1 of 2\)/);
      expect(log).toMatch(/Create interpreter 'preloaded' \(1 of 2\) with its own GIL/);
      expect(log).toMatch(/Create interpreter 'preloaded' \(2 of 2\) with its own GIL/);
      await sleep(300);
      const requested = Date.now() / 1000;
      const times = await Promise.all(Array.from({ length: 6 }, async () => Number(await (await fetch(`${server.url}/i`)).text())));
      for (const loadedAt of times) expect(loadedAt).toBeLessThan(requested - 0.2); // loaded before, in both
      expect(server.log().match(/Loading WSGI script/g)?.length).toBe(2);
    } finally {
      await server.stop();
    }
  });
});

describe("an import into a parallel group under --request-timeout", () => {
  // The Request's ARG carries the import flag (1 << 16) and the replica (index + 1, low bits) together:
  // each replica gets the script, and neither load is timed.
  const python = modern[0];
  test.skipIf(!python)("a slow import runs in each of the K interpreters untimed, as in one", async () => {
    const slow = fixture("slow-import-script.wsgi");
    const server = await start({
      python: python!.executable,
      args: ["--threads", "2", "--log-level", "info", "--request-timeout", "1",
        "--import-script", `${slow},application-group=slow`,
        "--alias", `/s=${slow},application-group=slow,parallel-interpreters=2`],
    });
    try {
      const log = await server.waitForLog(/into application group 'slow' \(interpreter 2 of 2\)/, 20_000);
      expect(log).toMatch(/Imported WSGI script '.*slow-import-script\.wsgi' into application group 'slow' \(interpreter 1 of 2\)/);
      const requested = Date.now() / 1000;
      const loaded = await Promise.all([0, 1].map(async () => Number(await (await fetch(`${server.url}/s`)).text())));
      for (const at of loaded) expect(at).toBeLessThan(requested); // the modules the imports loaded
      expect(server.log()).not.toContain("Request timeout expired");
      expect(server.log()).not.toContain("Failed to import");
      expect(server.log().match(/Loading WSGI script/g)?.length).toBe(2);
    } finally {
      await server.stop();
    }
  });
});

describe("where parallel interpreters are refused", () => {
  test.skipIf(!older)("Python < 3.12: exit 2, naming the Python and what to use instead", async () => {
    for (const args of [
      ["--alias", `/h=${hello},parallel-interpreters=2`],
      ["--parallel-interpreters", "2", hello],
      ["--processes", "2", "--parallel-interpreters", "2", hello], // the supervisor checks before any child starts
    ]) {
      const r = await run(["--python", older!.executable, "--port", "0", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("parallel interpreters need Python 3.12 or later");
      // The version as far as the installation's layout tells it (major.minor), with its library.
      expect(r.stderr).toMatch(new RegExp(`the Python found is ${older!.minor.replace(".", "\\.")}(\\.\\d+)? \\(`));
      expect(r.stderr).toContain("--parallel-interpreters 1");
      expect(r.stderr).not.toContain("listening on");
    }
  });

  test.skipIf(!older)("Python < 3.12 with the default of 1 serves as before", async () => {
    const server = await start({ python: older!.executable, args: ["--parallel-interpreters", "1", "--alias", `/h=${hello}`] });
    try {
      expect((await get(`${server.url}/h`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  const bad: [string, string[], RegExp][] = [
    ["%{GLOBAL} on an alias", ["--alias", `/g=${hello},application-group=%{GLOBAL},parallel-interpreters=2`],
      /application-group=%\{GLOBAL\} is the main interpreter, which cannot be split into 2 parallel interpreters/],
    ["%{GLOBAL} by default", ["--application-group", "%{GLOBAL}", "--parallel-interpreters", "4", hello],
      /%\{GLOBAL\} is the main interpreter, which cannot be split into 4 parallel interpreters.*parallel-interpreters=1/],
    ["two aliases of one group disagreeing", [
      "--alias", `/a=${hello},application-group=shared,parallel-interpreters=2`,
      "--alias", `/b=${hello},application-group=shared`,
    ], /aliases '\/a' and '\/b' share application group shared but ask for 2 and 1 parallel interpreters/],
    ["parallel-interpreters=0", ["--alias", `/h=${hello},parallel-interpreters=0`], /parallel-interpreters wants a whole number from 1 to 64/],
    ["--parallel-interpreters many", ["--parallel-interpreters", "many", hello], /--parallel-interpreters.*'many'/],
    ["with --config (no directive for it)", ["--config", fixture("config/two-vhosts.conf"), "--parallel-interpreters", "2"],
      /--parallel-interpreters applies to --alias routes and cannot be combined with --config/],
  ];
  for (const [name, args, message] of bad) {
    test(`${name}: a usage error (exit 2)`, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }
});
