// At a graceful exit, every interpreter this process used runs its atexit functions, as mod_wsgi has
// them run when it destroys its interpreters at process shutdown: an app's cleanup (a flush of queued
// events or metrics, a file closed) gets its turn. Each goes through the request path (no script, no
// callable), one interpreter after another, within the time the stop has left.
import type { ErrorLog } from "../log/error-log.ts";
import { REQUEST_EXIT, REQUEST_IMPORT } from "../pool/channel.ts";
import type { Pool } from "../pool/pool.ts";
import { loadScript } from "./import-scripts.ts";

/** The application groups requests (or import scripts) ran in: they have interpreters. */
export class UsedGroups {
  private readonly used = new Set<string>();

  constructor(private readonly interpretersOf: (group: string) => number) {}

  add(group: string): void {
    this.used.add(group);
  }

  /** Runs each used interpreter's exit functions (a parallel group's every replica made), until `deadline` (ms since the epoch). */
  async runExitFunctions(pool: Pool, log: ErrorLog, deadline: number): Promise<void> {
    for (const group of this.used) {
      const count = this.interpretersOf(group);
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
}
