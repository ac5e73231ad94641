// Apache mod_status's page for wsgi-bin: a <Location PATH> with SetHandler server-status (the
// --server-status flag makes one), answered by the front before any route, to the clients the
// Require lines that apply there let in (http/app.ts checks them):
//   PATH            an HTML page that refreshes itself (status/page.html)
//   PATH?json       the same figures as JSON (figures.ts StatusReport)
//   PATH/metrics    Prometheus text format
// Under a supervisor the figures of every process are gathered over IPC (relay.ts).
import type { ServerStatusConfig } from "../config.ts";
import type { ErrorLog } from "../log/error-log.ts";
import type { Pool } from "../pool/pool.ts";
import type { ResponseSink } from "../http/wsgi-exchange.ts";
import { buildReport } from "./figures.ts";
import pageSource from "./page.html" with { type: "text" };
import { PROMETHEUS_TYPE, prometheusText } from "./prometheus.ts";
import { ChildRelay, type Gathered } from "./relay.ts";
import { Stats, type RouteInfo } from "./stats.ts";

// Bun types .html imports as HTML bundles; `type: "text"` makes it the file's text (esbuild: the text loader).
const PAGE = new TextEncoder().encode(pageSource as unknown as string);
const NO_STORE = "\0Cache-Control\0no-store";

export class StatusHandler {
  private readonly relay: ChildRelay | null;

  constructor(
    readonly stats: Stats,
    private readonly context: {
      software: string;
      python: string;
      errorLog: ErrorLog;
      /** Requests being answered right now (the listener's count). */
      activeRequests: () => number;
      /** Under a supervisor: gather the other processes' figures over IPC. */
      supervised: boolean;
    },
  ) {
    this.relay = context.supervised ? new ChildRelay(() => stats.snapshot(context.activeRequests())) : null;
  }

  /** A request to the status <Location> at `base` (its Require already passed): the page, its JSON or its metrics. */
  async serve(base: string, method: string, path: string, query: string, sink: ResponseSink): Promise<void> {
    if (method !== "GET" && method !== "HEAD") {
      return sink.complete("405 Method Not Allowed\0Allow\0GET, HEAD\0Content-Type\0text/plain; charset=utf-8",
        new TextEncoder().encode("The status page answers GET and HEAD.\n"));
    }
    if (path === `${base === "/" ? "" : base}/metrics`) {
      return sink.complete(`200 OK\0Content-Type\0${PROMETHEUS_TYPE}${NO_STORE}`, new TextEncoder().encode(prometheusText(await this.report())));
    }
    if (query.split("&").includes("json")) {
      return sink.complete(`200 OK\0Content-Type\0application/json${NO_STORE}`, new TextEncoder().encode(JSON.stringify(await this.report())));
    }
    sink.complete(`200 OK\0Content-Type\0text/html; charset=utf-8${NO_STORE}`, PAGE);
  }

  /** Every process's figures merged (this one's alone when nobody supervises it). */
  async report() {
    const gathered: Gathered = this.relay
      ? await this.relay.gather()
      : { figures: [this.stats.snapshot(this.context.activeRequests())], supervisor: null, missing: [] };
    return buildReport(gathered.figures, {
      software: this.context.software,
      python: this.context.python,
      supervisor: gathered.supervisor,
      missing: gathered.missing,
    });
  }
}

/** The status page's counters and handler for one process; null when --server-status is off. */
export function createServerStatus(
  config: ServerStatusConfig | undefined,
  options: { routes: RouteInfo[]; pool: Pool | null; slot: number | null } & ConstructorParameters<typeof StatusHandler>[1],
): StatusHandler | null {
  if (!config) return null;
  const stats = new Stats(options.routes, options.pool, options.slot);
  return new StatusHandler(stats, options);
}
