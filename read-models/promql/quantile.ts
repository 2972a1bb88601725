/**
 * Prometheus' quantile of a set of values (used by `quantile` and
 * `quantile_over_time`): linear interpolation between the order statistics around rank
 * φ·(n−1); φ < 0 gives −Inf and φ > 1 gives +Inf.
 */
export function quantileOf(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort((a, b) => a - b);
  const rank = q * (values.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(values.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[lower] * (1 - weight) + values[upper] * weight;
}
