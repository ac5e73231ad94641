// A desktop-style host (an Electron main process, a Tauri sidecar, a Bun app) shipping a Python web UI:
// it starts the Flask example (examples/flask/) inside its own process on a free loopback port,
// drives it as its window would, answers a custom-scheme request with no socket, and shuts it down.
//
//   npm run build && bun examples/embed/desktop-host.ts
//
// Flask must be importable by the Python it embeds (Debian: apt-get install python3-flask); set
// WSGI_BIN_PYTHON to choose that Python.
import { join } from "node:path";
import { createServer, PythonNotFoundError, ScriptLoadError, type WsgiServer } from "wsgi-bin";

const flaskApp = join(import.meta.dir, "../flask/app.wsgi");

/** The first Python that can import flask: $WSGI_BIN_PYTHON, python3, Debian's. */
function pythonWithFlask(): string | undefined {
  for (const python of [process.env.WSGI_BIN_PYTHON, "python3", "/usr/bin/python3"]) {
    if (python && Bun.spawnSync([python, "-c", "import flask"], { stderr: "ignore" }).exitCode === 0) return python;
  }
  return undefined;
}

let server: WsgiServer | undefined;
try {
  server = createServer({
    aliases: { "/": flaskApp },
    python: pythonWithFlask(),
    threads: 4,
    // The host's own logging: the app's print()s and tracebacks arrive here, line by line.
    onLog: (line) => console.log(`[python] ${line.replace(/^\[[^\]]*\] /, "")}`),
    onRequest: (entry) => console.log(`[request] ${entry.via} ${entry.method} ${entry.target} -> ${entry.status}`),
  });
  // The window is shown once the UI can answer: a broken app fails here, with what to fix.
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  console.log(`UI listening at ${url} (a BrowserWindow would load this URL)`);

  const page = await fetch(url);
  console.log(`GET / -> ${page.status}, title: ${/<title>(.*?)<\/title>/.exec(await page.text())?.[1]}`);
  const added = await fetch(`${url}notes`, { method: "POST", body: new URLSearchParams({ text: "written by the host" }), redirect: "manual" });
  console.log(`POST /notes -> ${added.status} ${added.headers.get("location")}`);
  const notes = await (await fetch(`${url}api/notes`)).json();
  console.log(`GET /api/notes -> ${JSON.stringify(notes)}`);

  // A custom protocol handler (Electron: protocol.handle("app", (request) => server.fetch(request))):
  // the same app, answered inside this process, through no socket.
  const viaScheme = await server.fetch(new Request("app://ui/api/notes"));
  console.log(`app://ui/api/notes -> ${viaScheme.status} ${await viaScheme.text()}`.trim());
} catch (error) {
  if (error instanceof PythonNotFoundError || error instanceof ScriptLoadError) {
    console.error(`Cannot start the UI: ${error.message}`);
    process.exitCode = 1;
  } else throw error;
} finally {
  await server?.close();
  console.log("closed");
}
