// Spike (not part of wsgi-bin): worker threads that own the sockets. Each of N Bun workers listens on
// the same port (SO_REUSEPORT, so the kernel spreads connections), parses each request itself and
// runs the app inline, holding the GIL only for that call: no hand-off between threads at all.
// Measures the ceiling of that design for hello.wsgi; see docs/performance.md.
//   bun bench/experiments/socket-workers/main.ts PORT THREADS SCRIPT [PYTHON]
import { findPython } from "../../../src/ffi/find-python.ts";
import { libpython } from "../../../src/ffi/libpython.ts";
import { startPython } from "../../../src/ffi/runtime.ts";

const [port, threads, script, python = "/usr/bin/python3"] = process.argv.slice(2);
if (!port || !threads || !script) throw new Error("usage: main.ts PORT THREADS SCRIPT [PYTHON]");
const install = findPython({ python });
startPython(install);
const py = libpython();

// One sub-interpreter for the app, as mod_wsgi's default application group.
const mainState = py.PyThreadState_New(py.PyInterpreterState_Main());
py.PyEval_RestoreThread(mainState);
const appState = py.Py_NewInterpreter();
const interpreter = py.PyThreadState_GetInterpreter(appState);
py.PyEval_SaveThread();

for (let index = 0; index < Number(threads); index++) {
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
  worker.postMessage({ library: install.library, interpreter, port: Number(port), script, index });
}
console.log(`listening on 127.0.0.1:${port} with ${threads} socket-owning threads`);
