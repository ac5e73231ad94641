// The per-platform npm package: @wsgi-bin/<platform>-<arch> holds this platform's executable
// (./wsgi-bin, built by build.ts) and koffi's native module for the library (dist/lib/ loads it from
// here, see build/library.ts). npm installs only the one whose `os`, `cpu` and `libc` match, as the
// optional dependency of `wsgi-bin`; bin/wsgi-bin.js runs its executable.
//   bun build/platform-package.ts      -> dist/npm/<platform>-<arch>/, then `npm pack` it
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { koffiNativeModule } from "./koffi-native.ts";

const root = resolve(import.meta.dir, "..");

/**
 * The platform packages `wsgi-bin` depends on (optionally), one per platform a release is built on
 * (each built there by this script): a platform listed here must be published with the release.
 */
export const PUBLISHED_PLATFORMS = ["linux-x64"];

function isMusl(): boolean {
  return koffiNativeModule(root).includes("/musl_");
}

/** The platform package's name for this machine, as bin/wsgi-bin.js and build/library.ts look it up. */
export function platformPackageName(): string {
  return `@wsgi-bin/${process.platform}-${process.arch}${isMusl() ? "-musl" : ""}`;
}

export function buildPlatformPackage(): string {
  const executable = join(root, "wsgi-bin");
  if (!existsSync(executable)) throw new Error("./wsgi-bin is not built: run `npm run build` first");
  const main = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const name = platformPackageName();
  const dir = join(root, "dist/npm", name.slice("@wsgi-bin/".length));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync(executable, join(dir, "bin/wsgi-bin"));
  chmodSync(join(dir, "bin/wsgi-bin"), 0o755);
  copyFileSync(koffiNativeModule(root), join(dir, "koffi.node"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({
    name,
    version: main.version,
    description: `The wsgi-bin executable (and koffi's native module) for ${process.platform}-${process.arch}${isMusl() ? " (musl)" : ""}: installed by the wsgi-bin package.`,
    license: main.license,
    os: [process.platform],
    cpu: [process.arch],
    ...(process.platform === "linux" ? { libc: [isMusl() ? "musl" : "glibc"] } : {}),
    files: ["bin/wsgi-bin", "koffi.node"],
    preferUnplugged: true,
  }, null, 2) + "\n");
  writeFileSync(join(dir, "README.md"), `# ${name}\n\nThe prebuilt [wsgi-bin](https://www.npmjs.com/package/wsgi-bin) for ${process.platform}-${process.arch}. ` +
    "Install `wsgi-bin`, which depends on it (an optional dependency chosen by platform); its `bin/wsgi-bin` runs this package's executable.\n");
  return dir;
}

if (import.meta.main) console.log(`built ${buildPlatformPackage()}`);
