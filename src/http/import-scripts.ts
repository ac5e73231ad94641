// WSGIImportScript: each --import-script is loaded into its interpreter when the process starts, on
// one worker thread, through the ordinary request path with no callable named (the adapter then
// only loads the script), flagged as an import so --request-timeout leaves it alone, as mod_wsgi's
// request-timeout does. A group with --parallel-interpreters K gets it in each of its K interpreters
// (the request's ARG names the one: index + 1 under REQUEST_REPLICA_MASK). The process reports itself
// ready once they are all in.
import type { ImportScript } from "../config.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { REQUEST_IMPORT, ToMain } from "../pool/channel.ts";
import { Refusal, type Pool } from "../pool/pool.ts";
import { writeRequestHead } from "./request-head.ts";

export interface ScheduledImport {
  script: ImportScript;
  group: string;
  /** The group's parallel interpreters (1: the one interpreter). */
  interpreters: number;
}

export async function importScripts(pool: Pool, scripts: ScheduledImport[], log: ErrorLog): Promise<void> {
  for (const { script, group, interpreters } of scripts) {
    if (interpreters <= 1) await importOne(pool, script, group, 0, log, "");
    else {
      for (let index = 0; index < interpreters; index++) {
        await importOne(pool, script, group, index + 1, log, ` (interpreter ${index + 1} of ${interpreters})`);
      }
    }
  }
}

/** Loads the script into the group's interpreter; `replica` (index + 1) picks one of a parallel group's. */
async function importOne(pool: Pool, script: ImportScript, group: string, replica: number, log: ErrorLog, which: string): Promise<void> {
  const failed = await loadScript(pool, script.script, group, replica, "import");
  if (failed === null) log.info(`Imported WSGI script '${script.script}' into application group '${group}'${which}.`);
  // On failure the adapter has logged why; the process serves on, as mod_wsgi's does.
}

/**
 * Loads `script` into application group `group` on one worker thread, untimed; `replica` (index + 1,
 * or 0) picks one of a parallel group's interpreters; with no script and REQUEST_EXIT in `flags`, it
 * runs that interpreter's exit functions instead. Resolves to null, or to why it failed (the exception's
 * last line, "no such file"...), which the adapter has logged in full.
 */
export async function loadScript(pool: Pool, script: string, group: string, replica: number, requestId: string, flags = REQUEST_IMPORT): Promise<string | null> {
  const slot = await pool.acquire(0, false); // not a client's request: never refused for a full queue
  if (slot instanceof Refusal) return "no worker thread"; // unbounded and without a timeout: cannot happen
  const length = writeRequestHead(slot.channel, {
    group, script, callable: "", reload: true, passAuthorization: false, contextId: "",
    scriptName: "", pathInfo: "", query: "", method: "", protocol: "", requestUri: "", remoteAddr: "",
    remotePort: "", serverName: "", serverPort: "", serverAddr: "", pathTranslated: "", scheme: "", bodyLength: "", requestId,
    mountPoint: null, signature: "", context: "", env: [], headers: [],
  });
  slot.sendRequest(length, flags | replica); // REQUEST_IMPORT: not timed by --request-timeout
  const kind = await slot.receive();
  const channel = slot.channel;
  const failed = kind === ToMain.End ? null
    : channel.length() > 0 ? new TextDecoder().decode(channel.data.subarray(0, channel.length()))
    : "its interpreter could not be set up";
  pool.release(slot);
  return failed;
}
