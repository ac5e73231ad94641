// What a worker measures of each request for the status page: the time it waited for the GIL (to
// start and after each exchange with the HTTP thread), and the time the request ran otherwise, less
// its waits for the HTTP thread (request body, a slow client). Published in the channel when the
// request ends; a few performance.now() calls per request, no allocation.
import { APP_MS, DATA_OFFSET, GIL_WAIT_MS } from "./channel.ts";

export class RequestClock {
  private readonly figures: Float32Array;
  private started = 0;
  private gil = 0;
  private waited = 0;

  constructor(shared: SharedArrayBuffer) {
    this.figures = new Float32Array(shared, 0, DATA_OFFSET / 4);
  }

  /** A request arrived. */
  begin(): void {
    this.started = performance.now();
    this.gil = 0;
    this.waited = 0;
  }

  /** The GIL was asked for at `since` and is held now. */
  gilTaken(since: number): void {
    this.gil += performance.now() - since;
  }

  /** The worker waited for the HTTP thread since `since`. */
  waitedForMain(since: number): void {
    this.waited += performance.now() - since;
  }

  /** The request is over: publish, before the final message goes to the HTTP thread. */
  publish(): void {
    this.figures[GIL_WAIT_MS] = this.gil;
    this.figures[APP_MS] = Math.max(performance.now() - this.started - this.gil - this.waited, 0);
  }
}
