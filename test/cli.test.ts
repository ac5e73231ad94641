// Flags: --help, --version, usage errors (exit 2) and a --python that does not exist (exit non-zero).
import { describe, expect, test } from "bun:test";
import { fixture, run } from "./helpers/server.ts";

const hello = fixture("hello.wsgi");

describe("command line", () => {
  test("--help lists the flags and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--alias", "--port", "--threads", "--python", "--python-home", "--python-path", "--application-group",
      "--callable-object", "--no-reload", "--server-name", "--error-log", "--log-level", "--access-log", "--parallel-interpreters"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  test("-h is --help", async () => {
    const r = await run(["-h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: wsgi-bin");
  });

  test("--version prints the version and exits 0", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wsgi-bin \d+\.\d+\.\d+/);
  });

  const bad: [string, string[], RegExp][] = [
    ["an unknown flag", ["--frobnicate", hello], /unknown option '--frobnicate'/],
    ["an unknown short flag", ["-x", hello], /unknown option '-x'/],
    ["--port abc", ["--port", "abc", hello], /--port.*'abc'/],
    ["--port 70000", ["--port", "70000", hello], /--port/],
    ["--threads 0", ["--threads", "0", hello], /--threads/],
    ["--alias without =", ["--alias", "/hello"], /--alias wants URL=FILE/],
    ["--alias URL without a leading /", ["--alias", `hello=${hello}`], /must start with '\/'/],
    ["--alias with an unknown option", ["--alias", `/h=${hello},colour=red`], /unknown option 'colour=red'/],
    ["--log-level loud", ["--log-level", "loud", hello], /unknown log level 'loud'/],
    ["a value flag with no value", [hello, "--port"], /'--port' needs a value/],
    ["a switch with a value", ["--no-reload=yes", hello], /takes no value/],
    ["nothing to serve", [], /nothing to serve/],
    ["the same alias twice", ["--alias", `/a=${hello}`, "--alias", `/a=${hello}`], /declared twice/],
  ];
  for (const [name, args, message] of bad) {
    test(`${name} exits 2 with a message`, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("wsgi-bin --help");
      expect(r.stdout).toBe("");
    });
  }

  test("--python pointing at a non-existent file exits non-zero and lists what was tried", async () => {
    const missing = "/nonexistent/dir/python3.99";
    const r = await run(["--python", missing, "--port", "0", hello]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain("Tried:");
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toContain("listening on");
  });

  test("--python pointing at a non-existent libpython .so exits non-zero and names it", async () => {
    const missing = "/nonexistent/lib/libpython3.99.so.1.0";
    const r = await run(["--python", missing, "--port", "0", hello]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Tried:");
    expect(r.stderr).toContain(`${missing}: no such file`);
  });
});
