// The --server-status page in a real headless Chromium (Debian's chromium, driven over the DevTools
// protocol): it loads while the server is under load, refreshes itself from ?json, its figures move,
// and a screenshot is written (its path is printed). Without Chromium this test fails, saying so.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Browser } from "./helpers/chromium.ts";
import { fixture, start, type RunningServer } from "./helpers/server.ts";

/** Keeps `concurrency` request loops going until stop() (real load on the server). */
function loadUntilStopped(urls: string[], concurrency = 3) {
  let stopped = false;
  let done = 0;
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    while (!stopped) {
      const response = await fetch(urls[i % urls.length]!);
      await response.arrayBuffer();
      done++;
    }
  });
  return {
    get done() { return done; },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

const figure = (id: string) => `document.getElementById(${JSON.stringify(id)}).textContent`;
const number = (text: string) => Number(text.replace(/,/g, ""));

describe("the status page in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await start({
      args: ["--server-status", "--threads", "2", "--alias", `/hello=${fixture("hello.wsgi")}`,
        "--alias", `/sleep=${fixture("sleep.wsgi")},application-group=sleepers`],
    });
    browser = await Browser.launch({ width: 1200, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("loads under load, its figures move with each refresh, and a screenshot is taken", async () => {
    const load = loadUntilStopped([`${server.url}/hello`, `${server.url}/hello`, `${server.url}/sleep?0.02`]);
    try {
      await Bun.sleep(500);
      await browser.navigate(`${server.url}/server-status`);
      await browser.waitFor(`document.getElementById("updated")?.dataset.count >= 1`);
      const first = {
        refreshes: number(await browser.evaluate<string>(`document.getElementById("updated").dataset.count`)),
        responses: number(await browser.evaluate<string>(figure("responses"))),
      };
      expect(first.responses).toBeGreaterThan(0);
      // The page refreshes itself every second: two more refreshes, more responses.
      await browser.waitFor(`document.getElementById("updated").dataset.count >= ${first.refreshes + 2}`, 10_000);
      const second = {
        responses: number(await browser.evaluate<string>(figure("responses"))),
        rps: Number(await browser.evaluate<string>(figure("rps"))),
        aliases: await browser.evaluate<string[]>(`[...document.querySelectorAll("#aliases tbody tr")].map((tr) => tr.cells[0].textContent + " " + tr.cells[2].textContent)`),
        interpreters: await browser.evaluate<string[]>(`[...document.querySelectorAll("#interpreters tbody tr td:first-child")].map((td) => td.textContent)`),
        processes: await browser.evaluate<string[]>(`[...document.querySelectorAll("#processes tbody tr td:first-child")].map((td) => td.textContent)`),
        codes: await browser.evaluate<string[]>(`[...document.querySelectorAll("#codes tbody tr td:first-child")].map((td) => td.textContent)`),
        chart: await browser.evaluate<number[]>(`document.querySelector("#chart polyline").getAttribute("points").split(" ").map((p) => Number(p.split(",")[1]))`),
        threads: number(await browser.evaluate<string>(figure("busy"))) + number(await browser.evaluate<string>(figure("idle"))),
        error: await browser.evaluate<string>(figure("error")),
      };
      console.log(`status page: responses ${first.responses} -> ${second.responses}, ${second.rps} requests/s, aliases ${second.aliases.join(", ")}`);
      expect(second.responses).toBeGreaterThan(first.responses);
      expect(second.rps).toBeGreaterThan(0);
      expect(second.aliases.map((row) => row.split(" ")[0])).toEqual(["/hello", "/sleep"]);
      for (const row of second.aliases) expect(number(row.split(" ")[1]!)).toBeGreaterThan(0);
      expect(second.interpreters).toContain("sleepers");
      expect(second.processes).toEqual([String(server.pid)]);
      expect(second.codes).toContain("200");
      // A young server's chart spans a minute, a point a second; the load lifts the line off its baseline.
      expect(second.chart.length).toBe(60);
      expect(Math.min(...second.chart)).toBeLessThan(Math.max(...second.chart));
      expect(second.threads).toBe(2);
      expect(second.error).toBe("");

      const dir = mkdtempSync(join(tmpdir(), "wsgi-bin-status-page-"));
      const file = join(dir, "server-status.png");
      writeFileSync(file, await browser.screenshot());
      console.log(`status page screenshot: ${file}`);
      expect(statSync(file).size).toBeGreaterThan(10_000);
    } finally {
      await load.stop();
    }
    expect(load.done).toBeGreaterThan(0);
  });
});
