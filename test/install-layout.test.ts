// The layout shortcut of findPython (src/ffi/install-layout.ts) against the probe it skips: for every
// supported Python on this machine it must name what the interpreter itself says (or step aside),
// and it must step aside for what it cannot know (virtualenvs, wrapper scripts).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromInterpreter } from "../src/ffi/find-python.ts";
import { fromInstallLayout } from "../src/ffi/install-layout.ts";
import { discoverPythons } from "./helpers/pythons.ts";
import { cleanupTemps, tempDir } from "./helpers/server.ts";

const pythons = discoverPythons();
afterAll(() => cleanupTemps());

test("at least one supported Python with a shared libpython is found", () => {
  expect(pythons.length).toBeGreaterThan(0);
});

for (const python of pythons) {
  describe(`Python ${python.version} (${python.source}: ${python.executable})`, () => {
    test("the layout names the library, home and executable the probe names", () => {
      const probe = fromInterpreter(python.executable, []);
      expect(probe).not.toBeNull();
      const layout = fromInstallLayout(python.executable);
      expect(layout).toEqual({ ...probe!, version: python.minor });
    });

    test("found on PATH: the executable is the PATH entry, not the file it links to", () => {
      const dir = tempDir();
      symlinkSync(realpathSync(python.executable), join(dir, "python3"));
      const saved = process.env.PATH;
      process.env.PATH = `${dir}:${saved}`;
      try {
        const layout = fromInstallLayout("python3");
        expect(layout?.executable).toBe(join(dir, "python3"));
        expect(layout?.library).toBe(fromInterpreter(python.executable, [])!.library);
      } finally {
        process.env.PATH = saved;
      }
    });

    test("a virtualenv of it is left to the probe", () => {
      const venv = join(tempDir(), "venv");
      const made = Bun.spawnSync([python.executable, "-m", "venv", "--without-pip", venv], { stdout: "pipe", stderr: "pipe" });
      expect(made.exitCode).toBe(0);
      expect(fromInstallLayout(join(venv, "bin", "python"))).toBeNull();
      expect(fromInterpreter(join(venv, "bin", "python"), [])?.venv?.prefix).toBe(venv);
    });
  });
}

test("a wrapper script is left to the probe", () => {
  const dir = tempDir();
  const wrapper = join(dir, "python3");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${pythons[0]!.executable} "$@"\n`);
  chmodSync(wrapper, 0o755);
  expect(fromInstallLayout(wrapper)).toBeNull();
  expect(fromInterpreter(wrapper, [])?.library).toBe(pythons[0]!.library);
});

test("no such command", () => {
  expect(fromInstallLayout("wsgi-bin-no-such-python")).toBeNull();
  expect(fromInstallLayout("/nonexistent/bin/python3.11")).toBeNull();
});
