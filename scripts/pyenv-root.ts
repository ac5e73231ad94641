// Where pyenv keeps its Pythons on this machine ($PYENV_ROOT, else `pyenv root`), or null, and the
// Pythons there: the build compiles the adapter with each of them (build/adapter-bytecode.ts), the
// tests run on each (test/helpers/pythons.ts).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function pyenvRoot(): string | null {
  if (process.env.PYENV_ROOT && existsSync(process.env.PYENV_ROOT)) return process.env.PYENV_ROOT;
  const pyenv = Bun.which("pyenv");
  if (!pyenv) return null;
  const run = Bun.spawnSync([pyenv, "root"], { stdout: "pipe", stderr: "ignore" });
  const root = run.stdout.toString().trim();
  return run.exitCode === 0 && root && existsSync(root) ? root : null;
}

/** The Pythons pyenv has under `root` (by default pyenvRoot()), sorted by version: each one's bin/python3. */
export function pyenvPythons(root: string | null = pyenvRoot()): { version: string; executable: string }[] {
  if (!root || !existsSync(join(root, "versions"))) return [];
  return readdirSync(join(root, "versions")).sort()
    .map((version) => ({ version, executable: join(root, "versions", version, "bin", "python3") }))
    .filter((python) => existsSync(python.executable));
}
