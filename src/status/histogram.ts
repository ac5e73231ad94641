// Durations as fixed buckets, so recording one is a bucket lookup and an increment (no allocation),
// histograms from several processes merge by adding counts, and percentiles come from the merge.
// The bounds follow the R10 series (1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8 per decade) from 10 µs
// to 100 s: ten per decade keeps an estimate within about 12% of the true value, and the decades,
// 2.5s and 5s among them give Prometheus round `le` labels.
const R10 = [1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8];
const FIRST_DECADE_US = 10;
const DECADES = 7; // 10 µs .. 100 s

/** Upper bounds in ms of every bucket but the last (which holds everything above 100 s). */
export const BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let d = 0; d < DECADES; d++) {
    for (const step of R10) bounds.push(Number(((FIRST_DECADE_US * 10 ** d * step) / 1000).toPrecision(3)));
  }
  bounds.push((FIRST_DECADE_US * 10 ** DECADES) / 1000); // 100 s
  return bounds;
})();

export const BUCKETS = BOUNDS_MS.length + 1;

/** The bucket of a duration: the first whose upper bound is at or above it. */
export function bucketOf(ms: number): number {
  if (!(ms > BOUNDS_MS[0]!)) return 0;
  // log10 lands within one bucket of the answer (the series is only nearly geometric): adjust.
  let i = Math.floor(Math.log10(ms / BOUNDS_MS[0]!) * 10);
  if (i >= BOUNDS_MS.length) return BOUNDS_MS.length;
  while (i > 0 && BOUNDS_MS[i - 1]! >= ms) i--;
  while (i < BOUNDS_MS.length && BOUNDS_MS[i]! < ms) i++;
  return i;
}

/** Bucket counts as [index, count] pairs of the non-empty buckets (what a snapshot carries). */
export type SparseHistogram = [number, number][];

export function sparse(counts: ArrayLike<number>): SparseHistogram {
  const out: SparseHistogram = [];
  for (let i = 0; i < counts.length; i++) if (counts[i]) out.push([i, counts[i]!]);
  return out;
}

export function addSparse(into: number[], histogram: SparseHistogram): void {
  for (const [i, n] of histogram) into[i] = (into[i] ?? 0) + n;
}

/**
 * The q-quantile (0..1) in ms, interpolating linearly inside its bucket (as Prometheus's
 * histogram_quantile does); null with no samples. Above the last bound it answers that bound.
 */
export function quantile(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n && seen + n >= rank) {
      if (i >= BOUNDS_MS.length) return BOUNDS_MS[BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
      return lower + (BOUNDS_MS[i]! - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return BOUNDS_MS[BOUNDS_MS.length - 1]!;
}
