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
  /** PyImport_GetMagicNumber(): the bytecode format, which picks the build's precompiled adapter (-1: none). */
  magic: number;
}

/**
 * `announce` hears the library's own full version before it is initialised (Py_GetVersion is one of
 * the calls allowed that early), so that a start that dies inside Python has said which one it was.
 */
export function startPython(install: PythonInstall, announce?: (version: string) => void): PythonRuntime {
  const { setenv, unsetenv } = libc();
  // The executable is wsgi-bin, not python: tell Python where its standard library is.
  const setHome = Boolean(install.home) && !process.env.PYTHONHOME;
  if (setHome) setenv("PYTHONHOME", install.home!, 1);

  const py = libpython(install.library);
  const version = py.Py_GetVersion().split(" ")[0]!;
  announce?.(version);
  py.Py_InitializeEx(0);
  if (setHome) unsetenv("PYTHONHOME");
  const registry = py.PyDict_New();
  const magic = py.PyImport_GetMagicNumber();
  if (magic === -1) py.PyErr_Clear();
  py.PyEval_SaveThread();
  return { install, version, registry, setHome, magic };
}
