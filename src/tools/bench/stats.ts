/** Small statistics for the bench: percentiles and medians over repeated runs. */

/** Nearest-rank percentile of ascending samples; NaN without samples. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median of the finite values (the lower middle one for an even count), or null. */
export function median(values: readonly (number | null)[]): number | null {
  const finite = values
    .filter((v): v is number => v !== null && Number.isFinite(v))
    .sort((a, b) => a - b);
  return finite.length === 0 ? null : finite[Math.floor((finite.length - 1) / 2)];
}

/** Field by field median of records of numbers; each figure is taken over the runs. */
export function medianRecord<T extends object>(runs: readonly T[]): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(runs[0])) {
    out[key] = median(runs.map((run) => (run as Record<string, number | null>)[key]));
  }
  return out as T;
}
