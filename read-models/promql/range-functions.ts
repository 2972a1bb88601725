/**
 * Functions over a range vector, with Prometheus' semantics: each takes the samples of
 * one series inside the window (windowStart, windowEnd] (stale markers already
 * removed), as indexes [lo, hi) into its time and value arrays, and returns the value
 * at that step or undefined where the series has no value.
 *
 * `rate`, `increase` and `delta` extrapolate to the window edges the way Prometheus
 * does (at most half an average sample interval beyond the first and last samples,
 * and never below zero for counters), and counter resets add the value before the
 * reset back in.
 */
import { quantileOf } from "./quantile.ts";

export interface Window {
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly lo: number;
  readonly hi: number;
  readonly start: number;
  readonly end: number;
  readonly rangeMs: number;
}

export type RangeFunction = (w: Window, param: number) => number | undefined;

function extrapolatedRate(w: Window, isCounter: boolean, isRate: boolean): number | undefined {
  const { t, v, lo, hi } = w;
  if (hi - lo < 2) return undefined;
  const last = hi - 1;
  let result = v[last] - v[lo];
  if (isCounter) {
    for (let i = lo + 1; i < hi; i++) if (v[i] < v[i - 1]) result += v[i - 1];
  }
  let toStart = (t[lo] - w.start) / 1000;
  let toEnd = (w.end - t[last]) / 1000;
  const sampled = (t[last] - t[lo]) / 1000;
  const average = sampled / (hi - lo - 1);
  const threshold = average * 1.1;
  if (toStart >= threshold) toStart = average / 2;
  if (isCounter) {
    const toZero = result > 0 && v[lo] >= 0 ? sampled * (v[lo] / result) : toStart;
    if (toZero < toStart) toStart = toZero;
  }
  if (toEnd >= threshold) toEnd = average / 2;
  let factor = (sampled + toStart + toEnd) / sampled;
  if (isRate) factor /= w.rangeMs / 1000;
  return result * factor;
}

function instantRate(w: Window, isRate: boolean): number | undefined {
  const { t, v, hi } = w;
  if (hi - w.lo < 2) return undefined;
  const last = v[hi - 1];
  const previous = v[hi - 2];
  const delta = isRate && last < previous ? last : last - previous;
  if (!isRate) return delta;
  const seconds = (t[hi - 1] - t[hi - 2]) / 1000;
  return seconds === 0 ? undefined : delta / seconds;
}

function sum(v: Float64Array, lo: number, hi: number): number {
  // Kahan summation, as Prometheus uses for sum and avg over time.
  let total = 0;
  let c = 0;
  for (let i = lo; i < hi; i++) {
    const x = v[i];
    const y = total + x;
    if (Math.abs(total) >= Math.abs(x)) c += (total - y) + x;
    else c += (x - y) + total;
    total = y;
  }
  return Number.isFinite(total) ? total + c : total;
}

function variance(w: Window): number | undefined {
  const n = w.hi - w.lo;
  if (n === 0) return undefined;
  const mean = sum(w.v, w.lo, w.hi) / n;
  let squares = 0;
  for (let i = w.lo; i < w.hi; i++) squares += (w.v[i] - mean) ** 2;
  return squares / n;
}

function extreme(w: Window, better: (a: number, b: number) => boolean): number | undefined {
  if (w.hi === w.lo) return undefined;
  let best = w.v[w.lo];
  for (let i = w.lo + 1; i < w.hi; i++) if (better(w.v[i], best) || Number.isNaN(best)) best = w.v[i];
  return best;
}

function deriv(w: Window): number | undefined {
  const n = w.hi - w.lo;
  if (n < 2) return undefined;
  const t0 = w.t[w.lo];
  let sx = 0, sy = 0, sxy = 0, sxx = 0;
  for (let i = w.lo; i < w.hi; i++) {
    const x = (w.t[i] - t0) / 1000;
    sx += x;
    sy += w.v[i];
    sxy += x * w.v[i];
    sxx += x * x;
  }
  const covariance = sxy - (sx * sy) / n;
  const varianceX = sxx - (sx * sx) / n;
  return covariance / varianceX;
}

function count(w: Window, changed: (a: number, b: number) => boolean): number | undefined {
  if (w.hi === w.lo) return undefined;
  let n = 0;
  for (let i = w.lo + 1; i < w.hi; i++) if (changed(w.v[i - 1], w.v[i])) n++;
  return n;
}

export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  rate: (w) => extrapolatedRate(w, true, true),
  increase: (w) => extrapolatedRate(w, true, false),
  delta: (w) => extrapolatedRate(w, false, false),
  irate: (w) => instantRate(w, true),
  idelta: (w) => instantRate(w, false),
  deriv,
  changes: (w) => count(w, (a, b) => a !== b && !(Number.isNaN(a) && Number.isNaN(b))),
  resets: (w) => count(w, (a, b) => b < a),
  sum_over_time: (w) => (w.hi > w.lo ? sum(w.v, w.lo, w.hi) : undefined),
  avg_over_time: (w) => (w.hi > w.lo ? sum(w.v, w.lo, w.hi) / (w.hi - w.lo) : undefined),
  count_over_time: (w) => (w.hi > w.lo ? w.hi - w.lo : undefined),
  min_over_time: (w) => extreme(w, (a, b) => a < b),
  max_over_time: (w) => extreme(w, (a, b) => a > b),
  last_over_time: (w) => (w.hi > w.lo ? w.v[w.hi - 1] : undefined),
  present_over_time: (w) => (w.hi > w.lo ? 1 : undefined),
  stdvar_over_time: variance,
  stddev_over_time: (w) => {
    const v = variance(w);
    return v === undefined ? undefined : Math.sqrt(v);
  },
  quantile_over_time: (
    w,
    q,
  ) => (w.hi > w.lo ? quantileOf(q, Array.from(w.v.subarray(w.lo, w.hi))) : undefined),
};

/** Range functions whose result keeps the metric name (it still measures the same thing). */
export const KEEPS_NAME: ReadonlySet<string> = new Set(["last_over_time"]);

/** Range functions taking a scalar before the range vector. */
export const TAKES_PARAM: ReadonlySet<string> = new Set(["quantile_over_time"]);
