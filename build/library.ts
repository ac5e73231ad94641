// The library (`import { createServer } from "wsgi-bin"`): esbuild bundles src/lib/index.ts and the
// two thread entries into dist/lib/ as ES modules for Bun and Node >= 20, with koffi and hono inside
// (the package has no dependencies), and tsc writes its declarations (index.d.ts and what it refers
// to). On Node the bundle's `Bun`, `Worker` and, in the threads, `self` are the shims of
// src/lib/node/; on Bun those shims hand back Bun's own.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import * as esbuild from "esbuild";
import { adapterBytecodePlugin } from "./adapter-bytecode.ts";

const root = resolve(import.meta.dir, "..");

/**
 * koffi finds its native module through its src/static.js (see koffi-native.ts). In the package, the
 * platform package (@wsgi-bin/<platform>-<arch>) carries it; in this repository koffi's own
 * @koromix package does.
 */
function koffiFromPlatformPackage(): esbuild.Plugin {
  return {
    name: "koffi-platform-package",
    setup(build) {
      build.onResolve({ filter: /^\.\/src\/static\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]koffi[\\/]/.test(args.importer) ? { path: "koffi-static", namespace: "koffi-platform" } : undefined);
      build.onLoad({ filter: /.*/, namespace: "koffi-platform" }, () => ({
        contents: `import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
export function loadStatic(pkg) {
  // Only one platform package can be installed (their libc fields differ): glibc's or musl's.
  for (const name of ["@wsgi-bin/" + pkg + "/koffi.node", "@wsgi-bin/" + pkg + "-musl/koffi.node", "@koromix/koffi-" + pkg]) {
    try { return require(name); } catch {}
  }
  return null;
}
`,
        loader: "js",
      }));
    },
  };
}

const common: esbuild.BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["bun", "bun:*"],
  loader: { ".py": "text", ".html": "text" },
  define: { WSGI_BIN_THREADS_BESIDE: "true" },
  plugins: [koffiFromPlatformPackage(), adapterBytecodePlugin(root)],
  // Bundled CommonJS (koffi) calls require(): give the ES module one.
  banner: { js: 'import { createRequire as __wsgiBinCreateRequire } from "node:module"; const require = __wsgiBinCreateRequire(import.meta.url);' },
  logLevel: "warning",
};

export async function buildLibrary(outdir = join(root, "dist/lib")): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await esbuild.build({ ...common, entryPoints: { index: "src/lib/index.ts" }, outdir, inject: ["src/lib/node/bun-shim.ts"] });
  await esbuild.build({
    ...common,
    entryPoints: { worker: "src/pool/worker.ts", watchdog: "src/pool/watchdog-thread.ts" },
    outdir,
    inject: ["src/lib/node/worker-shim.ts"],
  });
  declarations(outdir);
}

/** tsc's declarations for src/lib/index.ts, keeping only the files index.d.ts refers to, with .js specifiers. */
function declarations(outdir: string): void {
  const temp = join(root, "dist/.types");
  rmSync(temp, { recursive: true, force: true });
  const tsconfig = join(root, "dist/tsconfig.lib.json");
  mkdirSync(dirname(tsconfig), { recursive: true });
  writeFileSync(tsconfig, JSON.stringify({
    extends: "../tsconfig.json",
    compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: "./.types", rootDir: "../src" },
    include: [],
    files: ["../src/lib/index.ts", "../text-imports.d.ts"],
  }));
  const tsc = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "-p", tsconfig], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (tsc.exitCode !== 0) throw new Error(`tsc (declarations) failed:\n${tsc.stdout}${tsc.stderr}`);
  const wanted = new Set<string>();
  const visit = (file: string) => {
    if (wanted.has(file)) return;
    wanted.add(file);
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)\.ts"/g)) visit(resolve(dirname(file), `${specifier}.d.ts`));
  };
  visit(join(temp, "lib/index.d.ts"));
  for (const file of wanted) {
    const target = join(outdir, "types", relative(temp, file));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(file, "utf8").replace(/from "(\.[^"]+)\.ts"/g, 'from "$1.js"'));
  }
  // index.d.ts beside index.js, pointing into types/.
  writeFileSync(join(outdir, "index.d.ts"), 'export * from "./types/lib/index.js";\n');
  rmSync(temp, { recursive: true, force: true });
  rmSync(tsconfig);
}

if (import.meta.main) {
  await buildLibrary();
  console.log(`built ${join(root, "dist/lib")}`);
}
