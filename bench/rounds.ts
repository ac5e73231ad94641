// --rounds N: each scenario runs every server N times, the servers' order turned by one each round
// (no server always first or last), and the table shows each server's median round. On a shared
// machine one round can be off by tens of per cent for one server alone; the median of three is not.
import type { Outcome } from "./table.ts";

/** The servers in round `round`'s order: the list turned left by `round`. */
export function roundOrder<T>(items: T[], round: number): T[] {
  const shift = round % Math.max(items.length, 1);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The figure a round is ranked by: req/s, MiB/s, or (cold start) minus the median time. */
function rank(outcome: Outcome): number {
  if (outcome.kind === "wrk") return outcome.rps;
  if (outcome.kind === "stream") return outcome.bytesPerSec;
  if (outcome.kind === "cold") return -outcome.medianMs;
  return Number.NEGATIVE_INFINITY;
}

/** The median round (the lower middle one for an even count); a failed round wins, so no failure is hidden. */
export function medianRound(outcomes: Outcome[]): Outcome {
  const failed = outcomes.find((o) => o.kind === "failed");
  if (failed) return failed;
  const sorted = [...outcomes].sort((a, b) => rank(a) - rank(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
