// The adapter (src/python/adapter.py) and the mod_wsgi module (src/python/mod_wsgi.py) compiled at
// build time for each Python version this machine has, so that an interpreter loads its code object (PyMarshal_ReadObjectFromString, ~0.3 ms) instead of
// compiling the source (~8 ms of every interpreter's start-up): an esbuild plugin fills in
// src/pool/adapter-bytecode.ts, which is empty in the sources. One entry per bytecode format (magic
// number); a Python the build did not see compiles the source as before.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type * as esbuild from "esbuild";
import { pyenvPythons, pyenvRoot } from "../scripts/pyenv-root.ts";
import { ADAPTER_FILENAME, MOD_WSGI_FILENAME } from "../src/pool/adapter-bytecode.ts";

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

/** The files compiled, each with the name its code carries and the constant of src/pool/adapter-bytecode.ts it fills. */
const COMPILED = [
  { source: join("src", "python", "adapter.py"), name: ADAPTER_FILENAME, constant: "ADAPTER_BYTECODE" },
  { source: join("src", "python", "mod_wsgi.py"), name: MOD_WSGI_FILENAME, constant: "MOD_WSGI_BYTECODE" },
];

/** Per file (by its constant): magic number -> the marshalled code object in base64, for every distinct bytecode format found. */
export function compileAdapterForEachPython(root: string): Record<string, Record<string, string>> {
  const script = join(root, "build", "compile-adapter.py");
  const args = COMPILED.flatMap((file) => [join(root, file.source), file.name]);
  const compiled: Record<string, Record<string, string>> = Object.fromEntries(COMPILED.map((file) => [file.constant, {}]));
  for (const python of pythonsHere()) {
    const run = Bun.spawnSync([python, "-I", script, ...args], { stdout: "pipe", stderr: "pipe" });
    const [magic, ...codes] = run.stdout.toString().trim().split(" ");
    if (run.exitCode !== 0 || !magic || codes.length !== COMPILED.length) continue;
    COMPILED.forEach((file, index) => (compiled[file.constant]![magic] ??= codes[index]!));
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
          let stub = readFileSync(args.path, "utf8");
          const compiled = compileAdapterForEachPython(root);
          for (const { constant } of COMPILED) {
            const empty = `${constant}: Readonly<Record<string, string>> = {};`;
            if (!stub.includes(empty)) throw new Error(`${args.path}: no '${empty}' to fill in`);
            stub = stub.replace(empty, empty.replace("{}", JSON.stringify(compiled[constant])));
          }
          contents = stub;
        }
        return { contents, loader: "ts" };
      });
    },
  };
}
