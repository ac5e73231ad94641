// --import-script (WSGIImportScript): the script is loaded into its interpreter when the process
// starts, before any request; the alias sharing that group then uses the module already loaded.
import { describe, expect, test } from "bun:test";
import { fixture, run, start } from "./helpers/server.ts";

const script = fixture("imported.wsgi");

describe("--import-script", () => {
  test("loads at start-up into the named group; the first request finds it loaded", async () => {
    const server = await start({
      args: ["--log-level", "info", "--import-script", `${script},application-group=preloaded`,
        "--alias", `/i=${script},application-group=preloaded`],
    });
    try {
      await server.waitForLog(/Imported WSGI script '.*imported\.wsgi' into application group 'preloaded'/);
      await Bun.sleep(300);
      const requested = Date.now() / 1000;
      const loadedAt = Number(await (await fetch(`${server.url}/i`)).text());
      expect(loadedAt).toBeLessThan(requested - 0.2); // loaded before the request, not by it
      expect(server.log().match(/Loading WSGI script/g)?.length).toBe(1);
    } finally {
      await server.stop();
    }
  });

  test("%{GLOBAL} works; a failing import is logged and the server serves on", async () => {
    const server = await start({
      args: ["--import-script", `${fixture("syntax-error.wsgi")},application-group=%{GLOBAL}`,
        "--alias", `/h=${fixture("hello.wsgi")}`],
    });
    try {
      await server.waitForLog(/Failed to import script '.*syntax-error\.wsgi'/);
      expect((await fetch(`${server.url}/h`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("--request-timeout does not interrupt an import that runs longer than it (as mod_wsgi)", async () => {
    const slow = fixture("slow-import-script.wsgi");
    const server = await start({
      args: ["--log-level", "info", "--request-timeout", "1", "--import-script", `${slow},application-group=slow`,
        "--alias", `/s=${slow},application-group=slow`],
    });
    try {
      await server.waitForLog(/Imported WSGI script '.*slow-import-script\.wsgi'/, 10_000);
      const requested = Date.now() / 1000;
      const response = await fetch(`${server.url}/s`);
      expect(response.status).toBe(200);
      // The module the import loaded (its time is rounded to the ms, so it may equal `requested`): a
      // load for the request would take its 2 s and answer later than that.
      expect(Number(await response.text())).toBeLessThan(requested + 1);
      expect(server.log()).not.toContain("Request timeout expired");
      expect(server.log()).not.toContain("Failed to import");
    } finally {
      await server.stop();
    }
  });

  test("a bad spec is a usage error", async () => {
    for (const spec of [script, `${script},application-group=%{RESOURCE}`, `${script},process-group=x`]) {
      const result = await run(["--import-script", spec, "--alias", `/i=${script}`]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--import-script");
    }
  });
});
