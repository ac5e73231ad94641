// WSGIImportScript: each --import-script is loaded into its interpreter when the process starts, on
// one worker thread, through the ordinary request path with no callable named (the adapter then
// only loads the script), flagged as an import so --request-timeout leaves it alone, as mod_wsgi's
// request-timeout does. The process reports itself ready once they are all in.
import type { ImportScript } from "../config.ts";
import type { ErrorLog } from "../log/error-log.ts";
import { REQUEST_IMPORT, ToMain, ToWorker } from "../pool/channel.ts";
import { Refusal, type Pool } from "../pool/pool.ts";
import { writeRequestHead } from "./request-head.ts";

export async function importScripts(pool: Pool, scripts: { script: ImportScript; group: string }[], log: ErrorLog): Promise<void> {
  for (const { script, group } of scripts) {
    const slot = await pool.acquire(0, false); // not a client's request: never refused for a full queue
    if (slot instanceof Refusal) continue; // unbounded and without a timeout: cannot happen
    const length = writeRequestHead(slot.channel, {
      group, script: script.script, callable: "", reload: true, passAuthorization: false,
      scriptName: "", pathInfo: "", query: "", method: "", protocol: "", requestUri: "", remoteAddr: "",
      remotePort: "", serverName: "", serverPort: "", scheme: "", bodyLength: "", requestId: "import",
      env: [], headers: [],
    });
    slot.send(ToWorker.Request, length, REQUEST_IMPORT); // not timed by --request-timeout
    const kind = await slot.receive();
    pool.release(slot);
    if (kind === ToMain.End) log.info(`Imported WSGI script '${script.script}' into application group '${group}'.`);
    // On failure the adapter has logged why; the process serves on, as mod_wsgi's does.
  }
}
