/**
 * `histogram_quantile(φ, buckets)` over classic histograms (`le` buckets), as
 * Prometheus computes it: buckets of one group (labels without `le` and the metric
 * name) are sorted by upper bound, counts forced monotonic, and the quantile linearly
 * interpolated inside the bucket holding rank φ·count. A group without a `+Inf`
 * bucket gives NaN.
 */
import { type Grid, type Labels, labelsKey, newSeries, type StepSeries, withoutName } from "./values.ts";

interface Bucket {
  readonly upper: number;
  readonly series: StepSeries;
}

export function histogramQuantile(q: Float64Array, input: readonly StepSeries[], grid: Grid): StepSeries[] {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of input) {
    const le = s.labels.le;
    const upper = le === undefined ? NaN : parseBound(le);
    if (Number.isNaN(upper)) continue;
    const { le: _, ...rest } = withoutName(s.labels);
    const key = labelsKey(rest);
    let group = groups.get(key);
    if (!group) groups.set(key, group = { labels: rest, buckets: [] });
    group.buckets.push({ upper, series: s });
  }
  const out: StepSeries[] = [];
  for (const group of groups.values()) {
    group.buckets.sort((a, b) => a.upper - b.upper);
    const result = newSeries(group.labels, grid.count);
    for (let i = 0; i < grid.count; i++) {
      const uppers: number[] = [];
      const counts: number[] = [];
      for (const b of group.buckets) {
        if (b.series.present[i] !== 1) continue;
        if (uppers.length > 0 && uppers[uppers.length - 1] === b.upper) {
          counts[counts.length - 1] += b.series.values[i];
        } else {
          uppers.push(b.upper);
          counts.push(b.series.values[i]);
        }
      }
      if (uppers.length === 0) continue;
      result.values[i] = bucketQuantile(q[i], uppers, counts);
      result.present[i] = 1;
    }
    out.push(result);
  }
  return out;
}

function parseBound(le: string): number {
  const lower = le.toLowerCase();
  if (lower === "+inf" || lower === "inf") return Infinity;
  return le.trim() === "" ? NaN : Number(le);
}

function bucketQuantile(q: number, uppers: number[], counts: number[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (uppers[uppers.length - 1] !== Infinity) return NaN;
  for (let i = 1; i < counts.length; i++) if (counts[i] < counts[i - 1]) counts[i] = counts[i - 1];
  if (uppers.length < 2) return NaN;
  const observations = counts[counts.length - 1];
  if (observations === 0 || Number.isNaN(observations)) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < counts.length - 1 && counts[b] < rank) b++;
  if (b === uppers.length - 1) return uppers[uppers.length - 2];
  if (b === 0 && uppers[0] <= 0) return uppers[0];
  let start = 0;
  let count = counts[b];
  if (b > 0) {
    start = uppers[b - 1];
    count -= counts[b - 1];
    rank -= counts[b - 1];
  }
  return start + (uppers[b] - start) * (rank / count);
}
