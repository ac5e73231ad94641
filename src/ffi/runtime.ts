// Initialises the embedded Python once per process, as mod_wsgi's wsgi_python_init: no Python signal
// handlers (the server owns signals), then the GIL released for the worker threads.
import type { PythonInstall } from "./find-python.ts";
import { libc } from "./libc.ts";
import { libpython, type Ptr } from "./libpython.ts";

export interface PythonRuntime {
  install: PythonInstall;
  version: string;
  /** Application group name -> interpreter address, a dict in the main interpreter (see pool/interpreters.ts). */
  registry: Ptr;
  /** Whether PYTHONHOME was set by wsgi-bin (the adapter removes it from os.environ again). */
  setHome: boolean;
}

export function startPython(install: PythonInstall): PythonRuntime {
  const { setenv, unsetenv } = libc();
  // The executable is wsgi-bin, not python: tell Python where its standard library is.
  const setHome = Boolean(install.home) && !process.env.PYTHONHOME;
  if (setHome) setenv("PYTHONHOME", install.home!, 1);

  const py = libpython(install.library);
  py.Py_InitializeEx(0);
  if (setHome) unsetenv("PYTHONHOME");
  const registry = py.PyDict_New();
  const version = py.Py_GetVersion().split(" ")[0]!;
  py.PyEval_SaveThread();
  return { install, version, registry, setHome };
}
