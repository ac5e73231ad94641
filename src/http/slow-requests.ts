// Bun's idle timer would cut a connection whose app runs longer than idleTimeout. Rather than lift
// it for every request (a native call per request, and connections left with no timeout at all),
// a sweep lifts it only for requests still running after a few seconds.
import type { Server } from "bun";

const SWEEP_MS = 2_000;

export class SlowRequests {
  private readonly started = new Map<Request, number>();
  private readonly timer: Timer;

  constructor(private readonly server: () => Server<unknown> | null, idleTimeoutSeconds: number) {
    const liftAfter = Math.min(idleTimeoutSeconds * 1000 / 2, 5_000);
    this.timer = setInterval(() => this.sweep(liftAfter), SWEEP_MS);
    this.timer.unref();
  }

  begin(request: Request): void {
    this.started.set(request, performance.now());
  }

  end(request: Request): void {
    this.started.delete(request);
  }

  private sweep(liftAfter: number): void {
    const server = this.server();
    if (!server) return;
    const now = performance.now();
    for (const [request, since] of this.started) {
      if (now - since < liftAfter) continue;
      server.timeout(request, 0);
      this.started.delete(request);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
