// Results and the Markdown table printed from them (pasted as is into bench/README.md).

export interface LoadResult {
  kind: "wrk";
  rps: number;
  p99Ms: number;
  /** Response bytes/s from wrk, or request body bytes/s for the upload. */
  bytesPerSec: number;
  peakRssBytes: number;
  startRssBytes: number;
  errors: number;
  errorDetail: string;
  command: string;
}

export interface StreamResult {
  kind: "stream";
  bytes: number;
  seconds: number;
  bytesPerSec: number;
  peakRssBytes: number;
  startRssBytes: number;
  growthBytes: number;
  command: string;
}

export interface ColdResult {
  kind: "cold";
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

export type Outcome = LoadResult | StreamResult | ColdResult | { kind: "failed"; error: string };

/** results[scenario][peer] */
export type Results = Record<string, Record<string, Outcome>>;

const MiB = 1024 * 1024;

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "?");
const mib = (bytes: number) => fixed(bytes / MiB, bytes < 10 * MiB ? 1 : 0);
/** wsgi-bin's value over the peer's, "1.00" for wsgi-bin itself. */
const ratio = (ours: number | undefined, theirs: number) =>
  ours === undefined || !Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0 ? "-" : `${(ours / theirs).toFixed(2)}`;

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** The first line of a failure, short enough for a cell; the whole error is in the JSON. */
function failure(error: string): string {
  return `FAILED: ${error.split("\n")[0]!.slice(0, 160).replaceAll("|", "\\|")}`;
}

export function table(results: Results, peers: string[], ours = "wsgi-bin"): string {
  const lines: string[] = [];
  const body = Object.keys(results).filter((s) => s !== "cold");
  if (body.length) {
    lines.push(
      row(["scenario", "server", "req/s", "p99 ms", "MiB/s", "peak RSS MiB", "errors", `${ours}÷server req/s (stream: MiB/s)`, "p99", "peak RSS"]),
      row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
    );
    for (const scenario of body) {
      const byPeer = results[scenario]!;
      const mine = byPeer[ours];
      for (const peer of peers) {
        const outcome = byPeer[peer];
        if (!outcome) continue;
        if (outcome.kind === "failed") {
          lines.push(row([scenario, peer, failure(outcome.error), "", "", "", "", "", "", ""]));
        } else if (outcome.kind === "wrk") {
          const m = mine?.kind === "wrk" ? mine : undefined;
          lines.push(
            row([
              scenario,
              peer,
              fixed(outcome.rps),
              fixed(outcome.p99Ms, 2),
              fixed(outcome.bytesPerSec / MiB, 1),
              mib(outcome.peakRssBytes),
              String(outcome.errors),
              ratio(m?.rps, outcome.rps),
              ratio(m?.p99Ms, outcome.p99Ms),
              ratio(m?.peakRssBytes, outcome.peakRssBytes),
            ]),
          );
        } else if (outcome.kind === "stream") {
          const m = mine?.kind === "stream" ? mine : undefined;
          lines.push(
            row([
              scenario,
              peer,
              "-",
              "-",
              fixed(outcome.bytesPerSec / MiB, 0),
              `${mib(outcome.peakRssBytes)} (+${mib(outcome.growthBytes)})`,
              "0",
              ratio(m?.bytesPerSec, outcome.bytesPerSec),
              "-",
              ratio(m?.peakRssBytes, outcome.peakRssBytes),
            ]),
          );
        }
      }
    }
  }
  const cold = results["cold"];
  if (cold) {
    const mine = cold[ours];
    lines.push("", row(["cold start", "median ms", "min ms", `${ours}÷server median`]), row(["---", "---:", "---:", "---:"]));
    for (const peer of peers) {
      const outcome = cold[peer];
      if (!outcome) continue;
      if (outcome.kind === "cold") {
        lines.push(row([peer, fixed(outcome.medianMs, 0), fixed(outcome.minMs, 0), ratio(mine?.kind === "cold" ? mine.medianMs : undefined, outcome.medianMs)]));
      } else if (outcome.kind === "failed") {
        lines.push(row([peer, failure(outcome.error), "", ""]));
      }
    }
  }
  return lines.join("\n");
}
