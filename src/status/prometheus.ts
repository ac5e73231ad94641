// The status report in Prometheus's text exposition format (version 0.0.4). Every process merged:
// a scrape reaches one process at random (SO_REUSEPORT), so each answers for all of them. Per alias
// series carry the application group as a label: `sum by (group)` gives the per-interpreter figures.
import { BOUNDS_MS } from "./histogram.ts";
import type { StatusReport } from "./figures.ts";

export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Bucket bounds exported as `le` (seconds): 1, 2.5 and 5 of each decade, from the finer internal buckets. */
const EXPORTED = BOUNDS_MS.map((ms, i) => [ms, i] as const)
  .filter(([ms]) => [1, 2.5, 5].includes(Number((ms / 10 ** Math.floor(Math.log10(ms) + 1e-9)).toPrecision(3))));

const escape = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const number = (value: number) => (Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "NaN");

export function prometheusText(report: StatusReport): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${number(value)}`);
  };
  const t = report.totals;
  metric("wsgi_bin_uptime_seconds", "gauge", "Seconds since the server (its supervisor, if any) started.", [["", report.uptimeSeconds]]);
  metric("wsgi_bin_processes", "gauge", "Processes serving, and those that did not report in time.", [
    ['{state="reporting"}', t.processes], ['{state="missing"}', report.missing.length]]);
  metric("wsgi_bin_process_start_time_seconds", "gauge", "When each serving process started (epoch seconds).",
    report.processes.map((p) => [`{pid="${p.pid}"}`, p.startedAt / 1000]));
  metric("wsgi_bin_threads", "gauge", "Worker threads running Python, busy or idle.", [['{state="busy"}', t.busy], ['{state="idle"}', t.idle]]);
  metric("wsgi_bin_queue_length", "gauge", "Requests waiting for a free worker thread.", [["", t.queued]]);
  metric("wsgi_bin_responses_total", "counter", "Responses sent, by status code (every response, error pages included).",
    Object.entries(report.codes).map(([code, n]) => [`{code="${code}"}`, n]));
  metric("wsgi_bin_response_bytes_total", "counter", "Response body bytes sent.", [["", t.bytes]]);

  const per = report.aliases.map((a) => ({ a, labels: `alias="${escape(a.alias)}",group="${escape(a.group)}"` }));
  metric("wsgi_bin_requests_total", "counter", "Requests routed to each alias.", per.map(({ a, labels }) => [`{${labels}}`, a.requests]));
  metric("wsgi_bin_request_errors_total", "counter", "Requests to each alias answered with a 5xx status.", per.map(({ a, labels }) => [`{${labels}}`, a.errors]));
  out.push("# HELP wsgi_bin_request_duration_seconds Time from dispatch to the end of the response, per alias.",
    "# TYPE wsgi_bin_request_duration_seconds histogram");
  for (const { a, labels } of per) {
    let below = 0;
    let index = 0;
    for (const [ms, i] of EXPORTED) {
      for (; index <= i; index++) below += a.latency[index] ?? 0;
      out.push(`wsgi_bin_request_duration_seconds_bucket{${labels},le="${ms / 1000}"} ${below}`);
    }
    out.push(`wsgi_bin_request_duration_seconds_bucket{${labels},le="+Inf"} ${a.requests}`,
      `wsgi_bin_request_duration_seconds_sum{${labels}} ${a.latencySeconds}`,
      `wsgi_bin_request_duration_seconds_count{${labels}} ${a.requests}`);
  }
  metric("wsgi_bin_thread_wait_seconds_total", "counter", "Time requests waited for a free worker thread, per alias.",
    per.map(({ a, labels }) => [`{${labels}}`, a.threadWaitSeconds]));
  metric("wsgi_bin_gil_wait_seconds_total", "counter", "Time worker threads waited for the GIL while running requests, per alias.",
    per.map(({ a, labels }) => [`{${labels}}`, a.gilWaitSeconds]));
  metric("wsgi_bin_app_seconds_total", "counter", "Time requests ran in the application, less the waits for the GIL and the client, per alias.",
    per.map(({ a, labels }) => [`{${labels}}`, a.appSeconds]));
  return out.join("\n") + "\n";
}
