// examples/embed/ run as they are (bun examples/embed/X.ts), importing the library by its package
// name: the desktop-style host drives the Flask example on a free port and through fetch(); the Hono
// app serves WSGI apps under /py through fetch().
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ensureLibrary } from "./helpers/library.ts";
import { ROOT } from "./helpers/server.ts";
import { SERVER_SOFTWARE } from "../src/version.ts";

async function runExample(name: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "examples/embed", name)], {
    cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

beforeAll(() => ensureLibrary());

describe("examples/embed", () => {
  test("desktop-host.ts: Flask on a free loopback port, driven over HTTP and through fetch() on a custom scheme", async () => {
    // The example finds a Python with Flask itself (Debian's python3-flask, as the framework tests use).
    const { code, stdout, stderr } = await runExample("desktop-host.ts");
    expect(stderr).not.toContain("Cannot start the UI");
    expect(code).toBe(0);
    expect(stdout).toMatch(/UI listening at http:\/\/127\.0\.0\.1:\d+\//);
    expect(stdout).toContain("GET / -> 200, title: wsgi-bin notes");
    expect(stdout).toContain("POST /notes -> 302 /");
    expect(stdout).toContain('GET /api/notes -> {"count":1,"notes":["written by the host"]}');
    expect(stdout).toContain('app://ui/api/notes -> 200 {"count":1,"notes":["written by the host"]}');
    expect(stdout).toContain("[request] fetch GET /api/notes -> 200");
    expect(stdout).toContain("[request] socket POST /notes -> 302");
    expect(stdout).toMatch(/\[python\] \[wsgi:notice\] .*listening on/);
    expect(stdout.trim().split("\n").at(-1)).toBe("closed");
  });

  test("hono-mount.ts: the host's routes and the WSGI apps under /py side by side", async () => {
    const { code, stdout, stderr } = await runExample("hono-mount.ts");
    expect(code).toBe(0);
    expect(stdout).toContain("GET / -> 200 The host app's own page.");
    expect(stdout).toMatch(/GET \/api\/time -> 200 \{"now":"\d{4}-/);
    expect(stdout).toContain("GET /py/hello -> 200 Hello World!");
    expect(stdout).toContain('GET /py/environ/some/path?x=1 -> 200 {"PATH_INFO":"/some/path","QUERY_STRING":"x=1","SCRIPT_NAME":"/py/environ"');
    expect(stdout).toContain("GET /py/missing -> 404");
    expect(stdout.trim().split("\n").at(-1)).toBe("closed");
    expect(stderr).toContain(`Embedded ${SERVER_SOFTWARE} closed.`);
  });
});
