/**
 * A mergeable percentile sketch with logarithmic buckets (DDSketch style), relative
 * accuracy {@link ALPHA}. The key mapping is the one the ClickHouse rollup tables compute
 * in SQL, so a sketch built here and one built by ClickHouse from the same samples hold
 * the same keys and counts:
 *
 * ```
 * |v| <  MIN_MAGNITUDE (and ±0)  → key 0
 * |v| >= MIN_MAGNITUDE           → k = min(ceil(ln|v| / ln GAMMA) + OFFSET, MAX_KEY), key = sign(v)·k
 * key k > 0                      → value GAMMA^(k − OFFSET) / ((GAMMA + 1) / 2), key −k → its negative
 * ```
 *
 * Keys agree bit for bit with ClickHouse's `log`/`ceil` (compared with chDB 26.7 on values around every
 * key's edges). Values computed in SQL can differ from {@link logSketchValue} in the last
 * few bits, because ClickHouse's `pow` rounds differently from `Math.pow`; to compare
 * exactly, read quantile keys from SQL and map them here.
 *
 * Keys sort in value order, so a quantile is a walk over sorted keys with cumulative
 * counts: `rank = q·(n − 1)` and the answer is the value of the first key whose
 * cumulative count exceeds `rank`.
 *
 * Error guarantee (checked in tests/unit/log-sketch.test.ts). Let x₀ ≤ … ≤ x₍ₙ₋₁₎ be the
 * added values (NaN excluded) and r = ⌊fl(q·(n − 1))⌋, the float64 product floored (so
 * q = 0.29, n = 101 gives r = 28, not 29). `quantile(q)` returns the value of the key x_r
 * maps to, and:
 * - if that key is neither 0 nor ±MAX_KEY, i.e. MIN_MAGNITUDE ≤ |x_r| ≤ about 1.7637e308:
 *   |x̂ − x_r| ≤ ALPHA·(1 + 1e-12)·|x_r|; the 1e-12 covers float rounding of ln and pow
 *   at bucket edges (measured over every key's edges: below 2e-13);
 * - if |x_r| < MIN_MAGNITUDE: x̂ = 0, so |x̂ − x_r| < MIN_MAGNITUDE;
 * - if the key is ±MAX_KEY (±Infinity, or |x_r| above about 1.7637e308): x̂ = ±Infinity.
 * Keys are monotone in value, so the answer always comes from the right order statistic:
 * there is no rank error on top of the bucket width, whatever the distribution.
 *
 * The value formula is written as `GAMMA^i / ((GAMMA + 1) / 2)` rather than
 * `2·GAMMA^i / (GAMMA + 1)`: both are the same single correctly rounded quotient (halving
 * and doubling are exact), but the first does not overflow for the top keys.
 *
 * @example
 * const s = new LogSketch();
 * for (const v of [1, 2, 3, 4, 100]) s.add(v);
 * s.quantile(0.5); // ≈ 3, within 1%
 * const [keys, counts] = s.toEntries(); // e.g. for a Map(Int32, UInt64) column
 * LogSketch.fromEntries(keys, counts).quantile(0.5) === s.quantile(0.5);
 */

export const ALPHA = 0.01;
export const GAMMA = (1 + ALPHA) / (1 - ALPHA);
const LN_GAMMA = Math.log(GAMMA);
const HALF_GAMMA_PLUS_ONE = (GAMMA + 1) / 2;
export const MIN_MAGNITUDE = 1e-9;
/** Shifts bucket indices so the smallest tracked magnitude maps to key 1. */
export const OFFSET = 1 - Math.ceil(Math.log(MIN_MAGNITUDE) / LN_GAMMA);
/** The key of Number.MAX_VALUE; larger magnitudes (±Infinity) clamp to it. */
export const MAX_KEY = Math.ceil(Math.log(Number.MAX_VALUE) / LN_GAMMA) + OFFSET;

export const PERCENTILES = [0.5, 0.9, 0.95, 0.99] as const;
export type Percentile = "p50" | "p90" | "p95" | "p99";

/** The quantile in [0, 1] a percentile name stands for. */
export function percentileQuantile(p: Percentile): number {
  switch (p) {
    case "p50":
      return 0.5;
    case "p90":
      return 0.9;
    case "p95":
      return 0.95;
    case "p99":
      return 0.99;
    default: {
      const unknown: never = p;
      throw new Error(`Cannot read percentile "${unknown}": not one of p50, p90, p95, p99`);
    }
  }
}

/** The key a value is counted under. NaN has no key; callers exclude it before this. */
export function logSketchKey(v: number): number {
  const magnitude = Math.abs(v);
  if (magnitude < MIN_MAGNITUDE) return 0;
  const k = Math.min(Math.ceil(Math.log(magnitude) / LN_GAMMA) + OFFSET, MAX_KEY);
  return v > 0 ? k : -k;
}

/** The value that stands for every value mapped to `key`. */
export function logSketchValue(key: number): number {
  if (key === 0) return 0;
  const magnitude = Math.pow(GAMMA, Math.abs(key) - OFFSET) / HALF_GAMMA_PLUS_ONE;
  return key > 0 ? magnitude : -magnitude;
}

/** Counts per key; merging two sketches adds their counts key by key. */
export class LogSketch {
  #counts = new Map<number, number>();
  #count = 0;

  /** Number of values added, with multiplicity. */
  get count(): number {
    return this.#count;
  }

  /** Number of distinct keys, which bounds the sketch's size. */
  get size(): number {
    return this.#counts.size;
  }

  /**
   * Counts `v` `count` times (a positive integer). NaN is ignored, because it has no
   * place in value order; this includes the Prometheus stale marker.
   */
  add(v: number, count = 1): void {
    if (v !== v) return;
    this.#addKey(logSketchKey(v), count);
  }

  /** Adds every count of `other` into this sketch; `other` is unchanged. */
  merge(other: LogSketch): void {
    for (const [key, count] of other.#counts) this.#addKey(key, count);
  }

  clone(): LogSketch {
    const copy = new LogSketch();
    copy.merge(this);
    return copy;
  }

  /** The q-quantile (q in [0, 1]) within the module's error guarantee; NaN when empty. */
  quantile(q: number): number {
    return this.quantiles([q])[0];
  }

  /** Several quantiles in one pass over the sorted keys; `qs` in any order. */
  quantiles(qs: readonly number[]): number[] {
    const out = new Array<number>(qs.length).fill(NaN);
    if (this.#count === 0) return out;
    const [keys, counts] = this.toEntries();
    const n = this.#count;
    for (let j = 0; j < qs.length; j++) {
      const rank = qs[j] * (n - 1);
      let cumulative = 0;
      for (let i = 0; i < keys.length; i++) {
        cumulative += counts[i];
        if (cumulative > rank) {
          out[j] = logSketchValue(keys[i]);
          break;
        }
      }
    }
    return out;
  }

  /** Keys ascending (value order) with their counts, as two parallel arrays. */
  toEntries(): [keys: number[], counts: number[]] {
    const keys = [...this.#counts.keys()].sort((a, b) => a - b);
    return [keys, keys.map((k) => this.#counts.get(k)!)];
  }

  /** Rebuilds a sketch from stored entries; a key may repeat (its counts add up). */
  static fromEntries(keys: ArrayLike<number>, counts: ArrayLike<number>): LogSketch {
    if (keys.length !== counts.length) {
      throw new RangeError(
        `Cannot rebuild sketch: ${keys.length} keys but ${counts.length} counts`,
      );
    }
    const sketch = new LogSketch();
    for (let i = 0; i < keys.length; i++) sketch.#addKey(keys[i], counts[i]);
    return sketch;
  }

  #addKey(key: number, count: number): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + count);
    this.#count += count;
  }
}
