// The shortcut past find-python.ts's probe: where a plain (non-virtualenv) installation built with
// --enable-shared keeps its pieces is known, so the interpreter need not be run to say it. Running it
// costs 15-25 ms of start-up (its own start, its site imports, sysconfig), which is most of what a
// cold start spends before Python is initialised. Anything this does not recognise goes to the probe.
//
//   <prefix>/bin/pythonX.Y                    the interpreter (python3 and the like are links to it)
//   <prefix>/lib/pythonX.Y/os.py              the standard library: Python's own landmark for its home
//   <prefix>/lib/libpythonX.Y.so.1.0          the shared library (LIBDIR/INSTSONAME), or under the
//   <prefix>/lib/<multiarch>/libpython...     multiarch directory, as Debian and Ubuntu install it
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { PythonInstall } from "./find-python.ts";

/** The multiarch directory names of the architectures Bun runs on. */
const MULTIARCH: Partial<Record<string, string>> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

/** The installation `python` (a path or a command on PATH) belongs to, if its layout is the plain one; else null. */
export function fromInstallLayout(python: string): PythonInstall | null {
  if (process.platform !== "linux") return null;
  const executable = python.includes("/") ? resolve(python) : onPath(python);
  if (!executable) return null;
  // A virtualenv's interpreter is a link to its base: its pyvenv.cfg is beside it or one level up,
  // and only the probe knows the sys.path it makes.
  const bin = dirname(executable);
  if (existsSync(join(bin, "pyvenv.cfg")) || existsSync(join(dirname(bin), "pyvenv.cfg"))) return null;
  let real: string;
  try {
    real = realpathSync(executable);
  } catch {
    return null;
  }
  // pythonX.Y exactly: not a wrapper script (pyenv's shims), not a debug or free-threaded build (3.13t).
  const match = /^python(\d+)\.(\d+)$/.exec(basename(real));
  if (!match || basename(dirname(real)) !== "bin") return null;
  const minor = `${match[1]}.${match[2]}`;
  const prefix = dirname(dirname(real));
  if (!existsSync(join(prefix, "lib", `python${minor}`, "os.py"))) return null;
  const name = `libpython${minor}.so.1.0`;
  const multiarch = MULTIARCH[process.arch];
  // The probe's order: LIBDIR first, then LIBDIR/MULTIARCH.
  const library = [join(prefix, "lib", name), multiarch ? join(prefix, "lib", multiarch, name) : ""].find((path) => path && existsSync(path));
  if (!library) return null;
  return { library, version: minor, executable, home: prefix, venv: null };
}

/** The first executable file named `name` in $PATH, as spawning the command would run (no Bun.which: the library runs on Node too). */
function onPath(name: string): string | null {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const path = resolve(directory || ".", name);
    try {
      if (statSync(path).isFile()) {
        accessSync(path, constants.X_OK);
        return path;
      }
    } catch {
      // not here, or not executable: the next directory
    }
  }
  return null;
}
