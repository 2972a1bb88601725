/**
 * Rollup math: the aggregates one series keeps per time bucket, as mergeable states so
 * partial states written per batch, late corrections and replays add up to the state
 * computed from all raw samples at once.
 *
 * Semantics, the same as the ClickHouse rollup tables:
 * - NaN samples are ignored by every aggregate (count included). That covers the
 *   Prometheus stale marker, a NaN with bits 0x7ff0000000000002.
 * - ±Infinity samples are counted. sum, min and max follow IEEE 754 (so a bucket holding
 *   both +Infinity and −Infinity sums to NaN); the sketch puts them in its clamped end keys.
 * - last is the value with the greatest timestamp; on equal timestamps the greater value
 *   wins, as ClickHouse `argMax(value, (ts, value))`, so arrival order never matters. For
 *   that tie only, +0 counts as greater than −0 to keep the choice deterministic.
 * - An empty state has count 0, sum 0, min +Infinity, max −Infinity, lastTs −Infinity and
 *   lastValue NaN: the identities of each merge.
 * - Merging is commutative and associative for count, min, max, last and the sketch;
 *   sum is too whenever the partial sums are exact in float64 (integers below 2^53,
 *   multiples of a power of two), otherwise the order can change its last bits.
 *
 * @example
 * const s = emptyRollup();
 * addSamples(s, timestamps, values, 0, length);
 * const total = mergeRollup(s, stored);
 * avg(total); percentile(total, "p99");
 */
import { LogSketch, type Percentile, percentileQuantile } from "./log-sketch.ts";

export type Tier = "1m" | "1h";

export interface RollupState {
  count: number;
  sum: number;
  min: number;
  max: number;
  lastTs: number;
  lastValue: number;
  sketch: LogSketch;
}

export function emptyRollup(): RollupState {
  return {
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
    lastTs: -Infinity,
    lastValue: NaN,
    sketch: new LogSketch(),
  };
}

/** Accumulates one sample into `state` in place (hot path: no allocation). */
export function addSample(state: RollupState, ts: number, v: number): void {
  if (v !== v) return;
  state.count++;
  state.sum += v;
  state.min = Math.min(state.min, v);
  state.max = Math.max(state.max, v);
  if (state.count === 1 || isLater(ts, v, state.lastTs, state.lastValue)) {
    state.lastTs = ts;
    state.lastValue = v;
  }
  state.sketch.add(v);
}

/** Accumulates samples `start` (inclusive) to `end` (exclusive) of two parallel columns. */
export function addSamples(
  state: RollupState,
  timestamps: Float64Array,
  values: Float64Array,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) addSample(state, timestamps[i], values[i]);
}

/** Adds `source` into `target` in place; `source` is unchanged. */
export function mergeRollupInto(target: RollupState, source: RollupState): void {
  if (source.count === 0) return;
  if (target.count === 0 || isLater(source.lastTs, source.lastValue, target.lastTs, target.lastValue)) {
    target.lastTs = source.lastTs;
    target.lastValue = source.lastValue;
  }
  target.count += source.count;
  target.sum += source.sum;
  target.min = Math.min(target.min, source.min);
  target.max = Math.max(target.max, source.max);
  target.sketch.merge(source.sketch);
}

/** The state of both inputs' samples together; neither input changes. */
export function mergeRollup(a: RollupState, b: RollupState): RollupState {
  const out = emptyRollup();
  mergeRollupInto(out, a);
  mergeRollupInto(out, b);
  return out;
}

/** Mean of the counted samples; NaN for an empty state. */
export function avg(state: RollupState): number {
  return state.count === 0 ? NaN : state.sum / state.count;
}

/** A percentile from the sketch, within its stated error (see log-sketch.ts); NaN if empty. */
export function percentile(state: RollupState, p: Percentile): number {
  return state.sketch.quantile(percentileQuantile(p));
}

export function tierMs(tier: Tier): number {
  switch (tier) {
    case "1m":
      return 60_000;
    case "1h":
      return 3_600_000;
    default: {
      const unknown: never = tier;
      throw new Error(`Cannot size tier "${unknown}": not one of 1m, 1h`);
    }
  }
}

/**
 * Start of the epoch-aligned bucket of width `widthMs` holding `ts`: the greatest multiple
 * of `widthMs` not above `ts`. Exact for finite timestamps (the float remainder is exact),
 * and floors, not truncates, below the epoch.
 */
export function bucketStart(ts: number, widthMs: number): number {
  const offset = ts % widthMs;
  return offset < 0 ? ts - offset - widthMs : ts - offset;
}

function isLater(ts: number, v: number, lastTs: number, lastValue: number): boolean {
  if (ts !== lastTs) return ts > lastTs;
  if (v !== lastValue) return v > lastValue;
  return v === 0 && Object.is(lastValue, -0) && !Object.is(v, -0);
}
