// Requests --request-timeout did not end: still running a grace period (another timeout) after their
// RequestTimeout was due, and for at least that long on the worker's side of the channel, in the app
// rather than waiting for the client to take the response. A C call that never returns (or holds
// the GIL) and an app that catches RequestTimeout and runs on both look like this.
// Read on the HTTP thread with atomic loads only: no GIL, so a C call holding it hides nothing here.
import { BusyState } from "./busy.ts";
import type { WorkerSlot } from "./pool.ts";

export interface StuckRequest {
  /** The worker thread running it (threading.get_ident() there, as Python's tracebacks name it). */
  thread: number;
  runningMs: number;
}

interface Watched {
  busy: BusyState;
  /** SEQ_TO_MAIN during the worker's turn last seen (NaN: none), and when it was first seen. */
  turn: number;
  turnSeenAt: number;
}

export class StuckRequests {
  private readonly watched: Watched[];

  constructor(slots: readonly WorkerSlot[], private readonly timeoutMs: number) {
    this.watched = slots.map((slot) => ({
      busy: new BusyState(slot.channel), turn: Number.NaN, turnSeenAt: 0,
    }));
  }

  /** HTTP thread, every tick: the first stuck request, or null. */
  find(now: number): StuckRequest | null {
    for (const watched of this.watched) {
      const request = watched.busy.read();
      const turn = watched.busy.turn(); // null while the worker waits for the client, not the app
      if (!request || request.untimed || turn === null) {
        watched.turn = Number.NaN;
        continue;
      }
      if (watched.turn !== turn) {
        watched.turn = turn; // a new turn: timed from now
        watched.turnSeenAt = now;
        continue;
      }
      const runningMs = now - request.since;
      if (runningMs >= 2 * this.timeoutMs && now - watched.turnSeenAt >= this.timeoutMs) return { thread: request.threadIdent, runningMs };
    }
    return null;
  }
}
