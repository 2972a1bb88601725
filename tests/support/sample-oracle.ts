/**
 * The expected answer of a query, computed from the samples a test sent: per series and
 * bucket the count, sum, min, max, last (greatest timestamp), avg and the exact order
 * statistics the percentiles are defined by. A series and timestamp added twice keeps the
 * value added last, the program's sample policy, so samples are added in the order sent.
 *
 * Buckets are epoch-aligned, `⌊ts / width⌋ · width`, as the query API's steps and the
 * rollup tables are. Sums are exact only when the values make them so (for example
 * multiples of 0.25 of moderate size), which is what lets tests compare with `===`.
 *
 * @example
 * const oracle = new SampleOracle();
 * oracle.add("host=a", 1_700_000_000_250, 1.25);
 * oracle.points("host=a", 60_000, "sum"); // [[1699999980000, 1.25]]
 * oracle.orderStatistics("host=a", 3_600_000, 0.99);
 */
export type ExactAggregation = "count" | "sum" | "min" | "max" | "last" | "avg";

export interface BucketStats {
  count: number;
  sum: number;
  min: number;
  max: number;
  lastTs: number;
  last: number;
  values: number[];
}

export class SampleOracle {
  readonly #samples = new Map<string, { ts: number[]; values: number[]; at: Map<number, number> }>();

  add(series: string, ts: number, value: number): void {
    let s = this.#samples.get(series);
    if (!s) this.#samples.set(series, s = { ts: [], values: [], at: new Map() });
    const earlier = s.at.get(ts);
    if (earlier !== undefined) {
      s.values[earlier] = value;
      return;
    }
    s.at.set(ts, s.ts.length);
    s.ts.push(ts);
    s.values.push(value);
  }

  get series(): string[] {
    return [...this.#samples.keys()].sort();
  }

  get size(): number {
    let n = 0;
    for (const s of this.#samples.values()) n += s.ts.length;
    return n;
  }

  /** Buckets of width `widthMs` holding samples, ascending by start. */
  buckets(series: string, widthMs: number): Map<number, BucketStats> {
    const s = this.#samples.get(series);
    const out = new Map<number, BucketStats>();
    if (!s) return out;
    for (let i = 0; i < s.ts.length; i++) {
      const ts = s.ts[i];
      const v = s.values[i];
      const start = Math.floor(ts / widthMs) * widthMs;
      let b = out.get(start);
      if (!b) {
        out.set(
          start,
          b = { count: 0, sum: 0, min: Infinity, max: -Infinity, lastTs: -Infinity, last: NaN, values: [] },
        );
      }
      b.count++;
      b.sum += v;
      b.min = Math.min(b.min, v);
      b.max = Math.max(b.max, v);
      if (ts > b.lastTs || (ts === b.lastTs && v > b.last)) {
        b.lastTs = ts;
        b.last = v;
      }
      b.values.push(v);
    }
    return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
  }

  points(series: string, widthMs: number, agg: ExactAggregation): [number, number][] {
    return [...this.buckets(series, widthMs)].map(([t, b]) => [t, aggregate(b, agg)]);
  }

  /** Per bucket, the value at 0-based rank ⌊q·(n−1)⌋ of the bucket's sorted values. */
  orderStatistics(series: string, widthMs: number, q: number): [number, number][] {
    return [...this.buckets(series, widthMs)].map(([t, b]) => [t, orderStatistic(b.values, q)]);
  }
}

export function aggregate(b: BucketStats, agg: ExactAggregation): number {
  switch (agg) {
    case "count":
      return b.count;
    case "sum":
      return b.sum;
    case "min":
      return b.min;
    case "max":
      return b.max;
    case "last":
      return b.last;
    case "avg":
      return b.sum / b.count;
    default: {
      const unknown: never = agg;
      throw new Error(`Cannot aggregate: unknown aggregation ${unknown}`);
    }
  }
}

/** The value at 0-based rank ⌊q·(n−1)⌋ (the float product floored) of `values` in order. */
export function orderStatistic(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}
