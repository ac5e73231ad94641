// Finds the Pythons on this machine at run time: pyenv's versions ($PYENV_ROOT or `pyenv root`),
// /usr/bin/python3 and python3 on PATH. Keeps the supported ones (3.9 to 3.13) that have a shared
// libpython, one per distinct installation.
import { existsSync, realpathSync } from "node:fs";
import { pyenvPythons } from "../../scripts/pyenv-root.ts";

export interface FoundPython {
  executable: string;
  version: string; // "3.11.7"
  minor: string; // "3.11"
  library: string;
  /** Where it was found: "pyenv", "/usr/bin/python3", "PATH". */
  source: string;
}

const PROBE = `
import json, os, sys, sysconfig
c = sysconfig.get_config_vars()
libdir = c.get("LIBDIR") or ""
names = [n for n in (c.get("INSTSONAME"), c.get("LDLIBRARY")) if n and ".so" in n]
dirs = [libdir, os.path.join(libdir, c.get("MULTIARCH") or ""), os.path.join(sys.base_prefix, "lib")]
libs = [os.path.join(d, n) for d in dirs for n in names if d and os.path.exists(os.path.join(d, n))]
print(json.dumps({"executable": os.path.realpath(sys.executable), "version": "%d.%d.%d" % sys.version_info[:3],
                  "shared": bool(c.get("Py_ENABLE_SHARED")), "libs": libs}))
`;

let cached: FoundPython[] | null = null;

export function discoverPythons(): FoundPython[] {
  if (cached) return cached;
  const candidates = pyenvPythons().map(({ version, executable }) => ({ path: executable, source: `pyenv ${version}` }));
  if (existsSync("/usr/bin/python3")) candidates.push({ path: "/usr/bin/python3", source: "/usr/bin/python3" });
  const onPath = Bun.which("python3");
  if (onPath) candidates.push({ path: onPath, source: "PATH" });

  const found = new Map<string, FoundPython>();
  for (const { path, source } of candidates) {
    const run = Bun.spawnSync([path, "-I", "-c", PROBE], { stdout: "pipe", stderr: "ignore" });
    if (run.exitCode !== 0) continue;
    let probe: { executable: string; version: string; shared: boolean; libs: string[] };
    try {
      probe = JSON.parse(run.stdout.toString());
    } catch {
      continue;
    }
    const [major, minor] = probe.version.split(".").map(Number);
    if (major !== 3 || minor! < 9 || minor! > 13) continue;
    if (!probe.shared || probe.libs.length === 0) continue;
    const key = realpathSync(probe.libs[0]!);
    if (found.has(key)) continue;
    found.set(key, {
      // The real interpreter (a pyenv shim on PATH resolves to the version it runs).
      executable: source === "PATH" ? probe.executable : path,
      version: probe.version,
      minor: `${major}.${minor}`,
      library: probe.libs[0]!,
      source,
    });
  }
  cached = [...found.values()];
  return cached;
}
