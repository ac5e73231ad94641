// `npm run build`: esbuild bundles src/main.ts and the worker entry into dist/, then
// `bun build --compile` turns the bundles (and koffi's native module) into the one file ./wsgi-bin;
// then the library goes to dist/lib/ (build/library.ts).
// Run with bun: the compile step uses the bun running this script (the pinned devDependency).
import { rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as esbuild from "esbuild";
import { adapterBytecodePlugin } from "./adapter-bytecode.ts";
import { koffiNativeModule, koffiNativePlugin } from "./koffi-native.ts";
import { buildLibrary } from "./library.ts";

const root = resolve(import.meta.dir, "..");
const dist = join(root, "dist");
const outfile = join(root, "wsgi-bin");

// Inside the executable, a relative Worker path names another embedded entry point by its file name
// (src/pool/worker-url.ts returns this instead of its source URL).
const WORKER_ENTRY = "./worker.js";
const WATCHDOG_ENTRY = "./watchdog.js"; // the --request-timeout thread, likewise
const PASSWORDS_ENTRY = "./passwords.js"; // the AuthUserFile password checks' thread, likewise

async function bundle(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: "src/main.ts", worker: "src/pool/worker.ts", watchdog: "src/pool/watchdog-thread.ts", passwords: "src/http/site/password-thread.ts" },
    outdir: dist,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "esnext",
    external: ["bun", "bun:*"], // Bun's built-in modules, provided by the runtime
    loader: { ".py": "text", ".html": "text", ".node": "copy" }, // Python sources and the status page embed as strings; koffi.node is copied beside the bundles
    assetNames: "[name]", // keep koffi.node's name stable in dist/
    define: {
      WSGI_BIN_WORKER_ENTRY: JSON.stringify(WORKER_ENTRY),
      WSGI_BIN_WATCHDOG_ENTRY: JSON.stringify(WATCHDOG_ENTRY),
      WSGI_BIN_PASSWORDS_ENTRY: JSON.stringify(PASSWORDS_ENTRY),
    },
    plugins: [koffiNativePlugin(koffiNativeModule(root)), adapterBytecodePlugin(root)],
    logLevel: "warning",
  });
}

function compile(): void {
  const run = Bun.spawnSync(
    [
      process.execPath, "build", "--compile",
      // A server started in an app's directory must not pick up that directory's .env or bunfig.toml.
      "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
      // Precompiled bytecode skips parsing at startup (cold start ~40 ms faster here); ESM needs --format=esm.
      // Not minified, so stack traces of unexpected errors stay readable.
      "--bytecode", "--format=esm",
      // The threads' entries are extra entry points: see WORKER_ENTRY.
      join(dist, "main.js"), join(dist, "worker.js"), join(dist, "watchdog.js"), join(dist, "passwords.js"),
      "--outfile", outfile,
    ],
    { cwd: root, stdout: "inherit", stderr: "inherit" },
  );
  if (run.exitCode !== 0) throw new Error(`bun build --compile exited with ${run.exitCode}`);
}

await bundle();
compile();
console.log(`built ${outfile} (${(statSync(outfile).size / 1e6).toFixed(1)} MB)`);
await buildLibrary(); // the library (`import { createServer } from "wsgi-bin"`), for Bun and Node
console.log(`built ${join(dist, "lib")} (the library)`);
