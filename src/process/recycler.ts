// --maximum-requests and --restart-interval (mod_wsgi's maximum-requests, restart-interval), and a
// failed health check (process/health.ts): a supervised process asks its supervisor, once, to be
// replaced; the supervisor starts the successor first and only then lets this one drain, so no
// request is refused meanwhile.
import type { ChildMessage, RecycleReason } from "./supervisor.ts";

export class Recycler {
  private requests = 0;
  private asked = false;

  constructor(private readonly maximumRequests: number, restartIntervalSeconds: number) {
    if (restartIntervalSeconds > 0) {
      setTimeout(() => this.replace("restart-interval"), restartIntervalSeconds * 1000).unref();
    }
  }

  /** Counts one request; the one that reaches --maximum-requests asks for the replacement. */
  count(): void {
    if (this.maximumRequests > 0 && ++this.requests === this.maximumRequests) this.replace("maximum-requests");
  }

  /** Asks the supervisor for a successor; only the first ask counts. */
  replace(reason: RecycleReason): void {
    if (this.asked) return;
    this.asked = true;
    const message: ChildMessage = { recycle: reason };
    process.send?.(message);
  }
}
