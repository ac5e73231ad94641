// Finds the Python to embed: --python (an interpreter or a libpython .so), else $WSGI_BIN_PYTHON,
// else python3 on PATH. A plain installation is recognised by its layout (install-layout.ts); any
// other interpreter is asked itself, through sysconfig, where its shared library is.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import probeSource from "../python/probe.py" with { type: "text" };
import { fromInstallLayout } from "./install-layout.ts";

export interface PythonInstall {
  /** The shared libpython to dlopen. */
  library: string;
  /** X.Y.Z from the probe, X.Y from the layout (the library's own Py_GetVersion() says the rest). */
  version: string;
  /** The interpreter executable; becomes sys.executable inside wsgi-bin. */
  executable: string | null;
  /** PYTHONHOME for the embedded runtime (the base installation, never a venv). */
  home: string | null;
  /** The virtualenv to run in, if the interpreter was one: every interpreter takes its sys.prefix and sys.path. */
  venv: Venv | null;
}

export interface Venv {
  prefix: string;
  path: string[];
  site_packages: string[];
}

export const SUPPORTED = { min: [3, 9], max: [3, 13] } as const;
export const PYTHON_ENV = "WSGI_BIN_PYTHON";

export class PythonNotFound extends Error {}

interface Probe {
  version: string;
  executable: string;
  base_prefix: string;
  prefix: string;
  shared: boolean;
  candidates: string[];
  venv: Venv | null;
}

export function findPython(options: { python?: string; pythonHome?: string }): PythonInstall {
  const tried: string[] = [];
  const requests: { what: string; from: string }[] = [];
  if (options.pythonHome) requests.push({ what: interpreterInHome(options.pythonHome), from: "--python-home" });
  if (options.python) requests.push({ what: options.python, from: "--python" });
  else if (process.env[PYTHON_ENV]) requests.push({ what: process.env[PYTHON_ENV]!, from: `$${PYTHON_ENV}` });
  else requests.push({ what: "python3", from: "PATH" });

  // --python-home names the environment, --python (or the default) the interpreter: home wins.
  const request = requests[0]!;
  const found = isSharedLibrary(request.what)
    ? fromLibrary(resolve(request.what), tried)
    : fromPython(request.what, tried);
  if (found) {
    checkVersion(found.version, found.library);
    return found;
  }
  throw new PythonNotFound(
    `no shared libpython found (from ${request.from}: ${request.what}). Tried:\n` +
      tried.map((t) => `  - ${t}`).join("\n") +
      `\nPoint --python (or $${PYTHON_ENV}) at a python3 built with --enable-shared (Debian's python3, ` +
      `pyenv with PYTHON_CONFIGURE_OPTS=--enable-shared) or directly at its libpython3.X.so.`,
  );
}

function interpreterInHome(home: string): string {
  for (const name of ["bin/python3", "bin/python"]) {
    const path = join(home, name);
    if (existsSync(path)) return path;
  }
  return join(home, "bin/python3");
}

function isSharedLibrary(path: string): boolean {
  return /\.so(\.\d+)*$/.test(basename(path)) || /\.dylib$/.test(path);
}

/** A python3: a plain installation known by its layout, else what the interpreter says of itself. */
function fromPython(python: string, tried: string[]): PythonInstall | null {
  return fromInstallLayout(python) ?? fromInterpreter(python, tried);
}

export function fromInterpreter(python: string, tried: string[]): PythonInstall | null {
  let probe: Probe;
  try {
    const run = Bun.spawnSync([python, "-I", "-c", probeSource], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) {
      tried.push(`${python}: exited with ${run.exitCode}: ${run.stderr.toString().trim().split("\n").pop()}`);
      return null;
    }
    probe = JSON.parse(run.stdout.toString()) as Probe;
  } catch (error) {
    tried.push(`${python}: could not run it (${(error as Error).message})`);
    return null;
  }
  for (const candidate of probe.candidates) {
    if (existsSync(candidate)) {
      return {
        library: candidate,
        version: probe.version,
        executable: probe.executable,
        home: probe.base_prefix,
        venv: probe.venv,
      };
    }
    tried.push(`${candidate} (from ${probe.executable} ${probe.version}): no such file`);
  }
  if (!probe.shared) tried.push(`${probe.executable} ${probe.version} was built without --enable-shared`);
  return null;
}

function fromLibrary(library: string, tried: string[]): PythonInstall | null {
  if (!existsSync(library) || !statSync(library).isFile()) {
    tried.push(`${library}: no such file`);
    return null;
  }
  const match = /libpython(\d+\.\d+)/.exec(basename(library));
  const version = match ? match[1]! : "unknown";
  // Prefer asking the matching interpreter beside the library (it knows its home and sys.executable).
  const prefix = dirname(dirname(library));
  const interpreter = [join(prefix, "bin", `python${version}`), `/usr/bin/python${version}`].find(existsSync);
  if (interpreter) {
    const viaInterpreter = fromPython(interpreter, []);
    if (viaInterpreter) return { ...viaInterpreter, library };
  }
  return { library, version, executable: null, home: null, venv: null };
}

function checkVersion(version: string, library: string): void {
  const [major, minor] = version.split(".").map(Number);
  if (major === undefined || minor === undefined || Number.isNaN(minor)) return;
  const [minMajor, minMinor] = SUPPORTED.min;
  const [maxMajor, maxMinor] = SUPPORTED.max;
  const tooOld = major < minMajor || (major === minMajor && minor < minMinor);
  const tooNew = major > maxMajor || (major === maxMajor && minor > maxMinor);
  if (tooOld || tooNew) {
    throw new PythonNotFound(
      `Python ${version} (${library}) is not supported: wsgi-bin supports ${minMajor}.${minMinor} to ${maxMajor}.${maxMinor}`,
    );
  }
}
