// The adapter (src/python/adapter.py) compiled at build time for each Python version this machine has,
// so that an interpreter loads its code object (PyMarshal_ReadObjectFromString, ~0.3 ms) instead of
// compiling the source (~8 ms of every interpreter's start-up): an esbuild plugin fills in
// src/pool/adapter-bytecode.ts, which is empty in the sources. One entry per bytecode format (magic
// number); a Python the build did not see compiles the source as before.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type * as esbuild from "esbuild";
import { pyenvPythons, pyenvRoot } from "../scripts/pyenv-root.ts";
import { ADAPTER_FILENAME } from "../src/pool/adapter-bytecode.ts";

/** python3.9 .. python3.13 wherever this machine keeps them: pyenv's versions, /usr/bin, /usr/local/bin, PATH. */
function pythonsHere(): string[] {
  const found = pyenvPythons(pyenvRoot() ?? join(homedir(), ".pyenv")).map((python) => python.executable);
  for (let minor = 9; minor <= 13; minor++) {
    for (const dir of ["/usr/bin", "/usr/local/bin"]) found.push(join(dir, `python3.${minor}`));
    const onPath = Bun.which(`python3.${minor}`);
    if (onPath) found.push(onPath);
  }
  return found.filter((path) => existsSync(path));
}

/** Magic number -> the marshalled code object in base64, for every distinct bytecode format found. */
export function compileAdapterForEachPython(root: string): Record<string, string> {
  const script = join(root, "build", "compile-adapter.py");
  const source = join(root, "src", "python", "adapter.py");
  const compiled: Record<string, string> = {};
  for (const python of pythonsHere()) {
    const run = Bun.spawnSync([python, "-I", script, source, ADAPTER_FILENAME], { stdout: "pipe", stderr: "pipe" });
    const [magic, code] = run.stdout.toString().trim().split(" ");
    if (run.exitCode === 0 && magic && code) compiled[magic] ??= code;
  }
  return compiled;
}

export function adapterBytecodePlugin(root: string): esbuild.Plugin {
  return {
    name: "adapter-bytecode",
    setup(build) {
      let contents: string | null = null; // once per build, whichever bundles import it
      build.onLoad({ filter: /[\\/]src[\\/]pool[\\/]adapter-bytecode\.ts$/ }, (args) => {
        if (contents === null) {
          const stub = readFileSync(args.path, "utf8");
          const empty = "ADAPTER_BYTECODE: Readonly<Record<string, string>> = {};";
          if (!stub.includes(empty)) throw new Error(`${args.path}: no '${empty}' to fill in`);
          contents = stub.replace(empty, empty.replace("{}", JSON.stringify(compileAdapterForEachPython(root))));
        }
        return { contents, loader: "ts" };
      });
    },
  };
}
