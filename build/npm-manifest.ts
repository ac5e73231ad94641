// The package.json that `npm pack` puts in the tarball: this repository's, plus the platform
// packages as optionalDependencies. They are left out of the repository's own package.json because
// they are not on the registry while the repository is being worked on, and `npm ci` refuses a
// dependency its lock file cannot hold. prepack adds them (the original kept in dist/npm/), postpack
// puts the original back; a pack that failed in between is undone by the next one.
//   bun build/npm-manifest.ts add|restore
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PUBLISHED_PLATFORMS } from "./platform-package.ts";

const root = resolve(import.meta.dir, "..");
const manifest = join(root, "package.json");
const original = join(root, "dist/npm/package.json.orig");

function restore(): void {
  if (existsSync(original)) renameSync(original, manifest);
}

function add(): void {
  restore();
  mkdirSync(join(root, "dist/npm"), { recursive: true });
  copyFileSync(manifest, original);
  const pkg = JSON.parse(readFileSync(manifest, "utf8"));
  pkg.optionalDependencies = Object.fromEntries(PUBLISHED_PLATFORMS.map((platform) => [`@wsgi-bin/${platform}`, pkg.version]));
  writeFileSync(manifest, JSON.stringify(pkg, null, 2) + "\n");
}

const mode = process.argv[2];
if (mode === "add") add();
else if (mode === "restore") restore();
else throw new Error("usage: bun build/npm-manifest.ts add|restore");
