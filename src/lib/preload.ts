// `preload`: each alias's script is loaded into its application group when the server starts, the
// way WSGIImportScript loads a script (http/import-scripts.ts, on one worker thread, untimed), so a
// script that cannot load is a ScriptLoadError for the host rather than a 500 for its first user.
import type { ErrorLog } from "../log/error-log.ts";
import { loadScript } from "../http/import-scripts.ts";
import type { Pool } from "../pool/pool.ts";
import { ScriptLoadError } from "./errors.ts";

export interface Load {
  script: string;
  group: string;
  /** The alias it serves, for the message. */
  url?: string;
}

/** Loads each in turn; rejects with a ScriptLoadError for the first that failed (every failure is logged). */
export async function preload(pool: Pool, loads: Load[], log: ErrorLog): Promise<void> {
  let first: ScriptLoadError | null = null;
  for (const load of loads) {
    const reason = await loadScript(pool, load.script, load.group, 0, "preload");
    if (reason === null) {
      log.info(`Loaded WSGI script '${load.script}' into application group '${load.group}'.`);
      continue;
    }
    const what = load.url ? `The script of alias ${load.url}, ${load.script},` : `The import script ${load.script}`;
    const fix = reason === "no such file"
      ? "Check the path (relative paths start from the current directory)."
      : "Fix the script, or the Python it runs in (the python, pythonHome and pythonPath options); the whole traceback is in the error log (onLog).";
    first ??= new ScriptLoadError(`${what} could not be loaded into application group '${load.group || "%{GLOBAL}"}': ${reason}. ${fix}`,
      load.script, load.group, reason);
  }
  if (first) throw first;
}
