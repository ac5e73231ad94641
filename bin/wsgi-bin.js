#!/usr/bin/env node
// `npx wsgi-bin ...`: runs the prebuilt executable of this platform, which npm installed as an
// optional dependency (@wsgi-bin/<platform>-<arch>, chosen by its `os`, `cpu` and `libc` fields).
// The executable needs neither Node nor Bun; this launcher only finds it, passes the arguments,
// forwards signals (SIGTERM, SIGINT and SIGHUP mean what they mean to wsgi-bin) and exits as it did.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function isMusl() {
  if (process.platform !== "linux") return false;
  try {
    return readdirSync("/lib").some((name) => name.startsWith("ld-musl-"));
  } catch {
    return false;
  }
}

function executable() {
  if (process.env.WSGI_BIN_EXECUTABLE) return process.env.WSGI_BIN_EXECUTABLE;
  const name = `@wsgi-bin/${process.platform}-${process.arch}${isMusl() ? "-musl" : ""}`;
  let dir;
  try {
    dir = dirname(require.resolve(`${name}/package.json`));
  } catch {
    process.stderr.write(
      `wsgi-bin: no prebuilt executable for this platform (${process.platform}-${process.arch}${isMusl() ? ", musl" : ""}): ` +
        `the optional dependency ${name} is not installed.\n` +
        "It is installed with wsgi-bin unless optional dependencies were left out (npm install --omit=optional, " +
        "--no-optional) or no package exists for this platform; set WSGI_BIN_EXECUTABLE to a wsgi-bin built from source " +
        "(npm run build) to use that instead.\n",
    );
    process.exit(1);
  }
  const file = join(dir, "bin", "wsgi-bin");
  if (!existsSync(file)) {
    process.stderr.write(`wsgi-bin: ${name} is installed but has no bin/wsgi-bin: reinstall it.\n`);
    process.exit(1);
  }
  return file;
}

const child = spawn(executable(), process.argv.slice(2), { stdio: "inherit" });
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  // Ctrl-C reaches both processes: the server decides what it means, this one waits for it.
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  process.stderr.write(`wsgi-bin: could not run ${error.path ?? "the executable"}: ${error.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
