// Where pyenv keeps its Pythons on this machine ($PYENV_ROOT, else `pyenv root`), or null: the build
// compiles the adapter with each of them (build/adapter-bytecode.ts), the tests run on each
// (test/helpers/pythons.ts).
import { existsSync } from "node:fs";

export function pyenvRoot(): string | null {
  if (process.env.PYENV_ROOT && existsSync(process.env.PYENV_ROOT)) return process.env.PYENV_ROOT;
  const pyenv = Bun.which("pyenv");
  if (!pyenv) return null;
  const run = Bun.spawnSync([pyenv, "root"], { stdout: "pipe", stderr: "ignore" });
  const root = run.stdout.toString().trim();
  return run.exitCode === 0 && root && existsSync(root) ? root : null;
}
