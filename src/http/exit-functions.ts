// At a graceful exit, every interpreter this process used runs its atexit functions, as mod_wsgi has
// them run when it destroys its interpreters at process shutdown: an app's cleanup (a flush of queued
// events or metrics, a file closed) gets its turn. Each goes through the request path (no script, no
// callable), one interpreter after another, within the time the stop has left.
import type { ErrorLog } from "../log/error-log.ts";
import { REQUEST_EXIT, REQUEST_IMPORT } from "../pool/channel.ts";
import type { Pool } from "../pool/pool.ts";
import { loadScript } from "./import-scripts.ts";
import { groupsWritten } from "./request-head.ts";

/**
 * Runs the exit functions of every application group a request ran in (each replica made of a
 * parallel group: `interpretersOf` says how many it has), until `deadline` (ms since the epoch).
 */
export async function runExitFunctions(pool: Pool, interpretersOf: (group: string) => number, log: ErrorLog, deadline: number): Promise<void> {
  for (const group of groupsWritten()) {
    const count = interpretersOf(group);
    // A parallel group's replicas by index + 1 (as import scripts name them); 0: the group's one interpreter.
    const replicas = count > 1 ? Array.from({ length: count }, (_, index) => index + 1) : [0];
    for (const replica of replicas) {
      const left = deadline - Date.now();
      const run = loadScript(pool, "", group, replica, "exit", REQUEST_IMPORT | REQUEST_EXIT);
      let timer: Timer | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(left, 0))));
      const outcome = await Promise.race([run, late]);
      clearTimeout(timer);
      if (outcome === "late") {
        log.warn(`The exit functions of application group '${group}' did not finish in time: exiting without the rest.`);
        return;
      }
    }
  }
}
