/**
 * `sum|avg|min|max|count|group by (…)` of an instant selector over a step grid, computed
 * from each series' raw samples with exactly the rules of the ClickHouse statement in
 * aggregate-sql.ts, so the head of recent samples and the table answer alike: a sample
 * at t is the value at every step T with t ≤ T < min(next sample, t + lookback), a stale
 * marker yields no steps and still ends the sample before it; `sum`/`avg` by Kahan
 * summation in ClickHouse's `sumKahan` steps over the terms in the order the series are
 * added (the statement sums in series-id order), or plainly where an infinite value
 * takes part (NaN and ±Inf propagate whatever the order), `avg` divides by
 * the count, `min`/`max` ignore NaN unless every value is NaN, `count` counts NaN.
 *
 * @example
 * const steps = new StepAggregate("avg", groups.length, request);
 * steps.add(groupOf[i], t, v, stale, n); // per series in id order, its samples in time order
 * steps.series(groups); // StepSeries of the groups with a value at some step
 */
import type { InstantAggregate, PushedOp } from "./aggregate-sql.ts";
import { newSeries, type StepSeries } from "./values.ts";

export class StepAggregate {
  readonly #steps: number;
  readonly #sum: Float64Array;
  readonly #compensation: Float64Array;
  /** The plain sum and whether an infinite value took part: Kahan's compensation turns ∞ + 1 into NaN. */
  readonly #plain: Float64Array;
  readonly #infinite: Uint8Array;
  readonly #count: Float64Array;
  /** Values that are not NaN, and their min or max. */
  readonly #numbers: Float64Array;
  readonly #extreme: Float64Array;

  constructor(
    readonly op: PushedOp,
    groups: number,
    readonly grid: Pick<InstantAggregate, "start" | "step" | "count" | "lookbackMs">,
  ) {
    this.#steps = grid.count;
    const cells = groups * grid.count;
    this.#sum = new Float64Array(cells);
    this.#compensation = new Float64Array(cells);
    this.#plain = new Float64Array(op === "sum" || op === "avg" ? cells : 0);
    this.#infinite = new Uint8Array(op === "sum" || op === "avg" ? cells : 0);
    this.#count = new Float64Array(cells);
    this.#numbers = new Float64Array(op === "min" || op === "max" ? cells : 0);
    this.#extreme = new Float64Array(op === "min" || op === "max" ? cells : 0);
  }

  /** One series' first `n` samples, ascending, into group `g`. */
  add(g: number, t: Float64Array, v: Float64Array, stale: Uint8Array, n: number): void {
    const { start, step, lookbackMs } = this.grid;
    const steps = this.#steps;
    const base = g * steps;
    // Per step the last sample at or before it, found by walking the samples once: the
    // statement's rule k ∈ [⌈(t − start)/step⌉, ⌈(min(next, t + lookback) − start)/step⌉)
    // read the other way round, t ≤ T < next and T < t + lookback (equal for whole ms).
    let j = -1;
    for (let k = 0; k < steps; k++) {
      const at = start + k * step;
      while (j + 1 < n && t[j + 1] <= at) j++;
      if (j < 0 || at >= t[j] + lookbackMs || stale[j] === 1) continue;
      this.#cell(base + k, v[j]);
    }
  }

  #cell(c: number, value: number): void {
    this.#count[c]++;
    switch (this.op) {
      case "sum":
      case "avg": {
        this.#plain[c] += value;
        if (value === Infinity || value === -Infinity) this.#infinite[c] = 1;
        const compensated = value - this.#compensation[c];
        const sum = this.#sum[c] + compensated;
        this.#compensation[c] = (sum - this.#sum[c]) - compensated;
        this.#sum[c] = sum;
        return;
      }
      case "min":
      case "max": {
        if (Number.isNaN(value)) return;
        const first = this.#numbers[c]++ === 0;
        const extreme = this.#extreme[c];
        if (first || (this.op === "min" ? value < extreme : value > extreme)) this.#extreme[c] = value;
        return;
      }
      case "count":
      case "group":
        return;
      default: {
        const unknown: never = this.op;
        throw new Error(`unknown aggregation ${unknown}`);
      }
    }
  }

  /** The groups with a value at some step, in group order, labelled by `groups`. */
  series(groups: readonly Record<string, string>[]): StepSeries[] {
    const out: StepSeries[] = [];
    const steps = this.#steps;
    for (let g = 0; g < groups.length; g++) {
      let series: StepSeries | undefined;
      for (let k = 0; k < steps; k++) {
        const c = g * steps + k;
        if (this.#count[c] === 0) continue;
        series ??= newSeries(groups[g], steps);
        series.values[k] = this.#value(c);
        series.present[k] = 1;
      }
      if (series !== undefined) out.push(series);
    }
    return out;
  }

  #value(c: number): number {
    switch (this.op) {
      case "sum":
        return this.#infinite[c] === 1 ? this.#plain[c] : this.#sum[c];
      case "avg":
        return (this.#infinite[c] === 1 ? this.#plain[c] : this.#sum[c]) / this.#count[c];
      case "count":
        return this.#count[c];
      case "group":
        return 1;
      case "min":
      case "max":
        return this.#numbers[c] === 0 ? NaN : this.#extreme[c];
      default: {
        const unknown: never = this.op;
        throw new Error(`unknown aggregation ${unknown}`);
      }
    }
  }
}
