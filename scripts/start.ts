// `npm start`: serve examples/ on :8000 with the built ./wsgi-bin. The Flask example needs a Python
// that has Flask (Debian: apt-get install python3-flask); without one, hello and environ still serve.
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const binary = join(root, "wsgi-bin");
if (!existsSync(binary)) {
  console.error("wsgi-bin: ./wsgi-bin is not built yet: run `npm run build` first.");
  process.exit(1);
}

/** The first candidate interpreter that can import flask. */
function pythonWithFlask(): string | null {
  const candidates = [process.env.WSGI_BIN_PYTHON, "python3", "/usr/bin/python3"].filter(Boolean) as string[];
  for (const python of candidates) {
    try {
      if (Bun.spawnSync([python, "-c", "import flask"], { stderr: "ignore" }).exitCode === 0) return python;
    } catch {
      // not installed: try the next one
    }
  }
  return null;
}

const args = [
  "--alias", `/hello=${join(root, "examples/hello.wsgi")}`,
  "--alias", `/environ=${join(root, "examples/environ.wsgi")}`,
  "--port", process.env.PORT ?? "8000",
  "--access-log", "-",
  "--log-level", "info",
];
const python = pythonWithFlask();
if (python) args.push("--alias", `/flask=${join(root, "examples/flask/app.wsgi")}`, "--python", python);
else console.error("wsgi-bin: no python3 with Flask found (apt-get install python3-flask): serving /hello and /environ only.");

const child = Bun.spawn([binary, ...args, ...process.argv.slice(2)], { stdio: ["inherit", "inherit", "inherit"] });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
process.exit(await child.exited);
