// koffi finds its native module at run time (loadStatic() in its src/static.js requires
// @koromix/koffi-<platform>-<arch>, whose index.js picks glibc or musl): bundlers cannot follow that.
// This plugin replaces static.js with a static import of the one koffi.node for the build machine,
// which esbuild copies beside the bundle and `bun build --compile` then embeds.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";

/** The directory of koffi's prebuilt native package for this platform, and the koffi.node to embed. */
export function koffiNativeModule(root: string): string {
  const require = createRequire(join(root, "package.json"));
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`koffi's native package ${pkg} is not installed (npm install on this platform)`);
  }
  // The executable links against the build machine's libc, so the native module must match it.
  const triplet = `${isMusl() ? "musl" : process.platform}_${process.arch}`;
  const file = join(pkgDir, triplet, "koffi.node");
  if (!existsSync(file)) throw new Error(`no ${triplet}/koffi.node in ${pkgDir}`);
  return file;
}

// musl systems have a /lib/ld-musl-<arch>.so.1 dynamic loader; glibc ones do not.
function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  try {
    return readdirSync("/lib").some((name) => name.startsWith("ld-musl-"));
  } catch {
    return false;
  }
}

export function koffiNativePlugin(nativeModule: string): Plugin {
  return {
    name: "koffi-native",
    setup(build) {
      // Only koffi's own `import { loadStatic } from "./src/static.js"` is rewritten.
      build.onResolve({ filter: /^\.\/src\/static\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]koffi[\\/]/.test(args.importer)
          ? { path: nativeModule, namespace: "koffi-native" }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "koffi-native" }, () => ({
        contents:
          `import native from ${JSON.stringify("./" + nativeModule.split(/[\\/]/).pop())};\n` +
          `export function loadStatic() { return native; }\n`,
        resolveDir: dirname(nativeModule),
        loader: "js",
      }));
    },
  };
}
