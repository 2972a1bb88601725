/**
 * The sliding window of one alert group: the window is cut into `slots` equal slots,
 * each holding the rollup aggregates of its samples (count, sum, min, max, last by
 * time with the greater value winning a tie, as in `domain/rollup.ts`) and, for
 * percentile rules only, a log sketch (`domain/log-sketch.ts`). The aggregate at `at`
 * merges the slots that end after `at − window` and start at or before `at`. A sample
 * counts in the slot of its event time, so out-of-order samples land where they
 * belong; one older than the oldest slot kept is dropped. The window edge is thus exact
 * to one slot (a tenth of the window by default), the price of a fixed ring of slots
 * per group instead of one entry per sample.
 *
 * This is the evaluator's hot path: the slots are parallel typed arrays, and adding a
 * sample or reading the aggregate allocates nothing (but for percentile sketches).
 *
 * @example
 * const w = new GroupWindow(60_000, "avg");
 * w.add(ts, 93.5);
 * w.aggregate(now) // the average, or undefined when the window is empty
 */
import { LogSketch, percentileQuantile } from "../log-sketch.ts";
import type { RuleAggregation } from "./rule.ts";

export const DEFAULT_SLOTS = 10;

export class GroupWindow {
  readonly #slotMs: number;
  readonly #ring: number;
  /** Slot number (floor(ts / slotMs)) held at each ring position; NaN when empty. */
  readonly #slot: Float64Array;
  readonly #count: Float64Array;
  readonly #sum: Float64Array;
  readonly #min: Float64Array;
  readonly #max: Float64Array;
  readonly #lastTs: Float64Array;
  readonly #lastValue: Float64Array;
  readonly #sketches: LogSketch[] | undefined;
  #newest = -Infinity;

  constructor(readonly windowMs: number, readonly agg: RuleAggregation, slots = DEFAULT_SLOTS) {
    this.#slotMs = Math.max(1, Math.ceil(windowMs / slots));
    // One more slot than the window spans, so a window that starts mid-slot is covered.
    this.#ring = slots + 1;
    this.#slot = new Float64Array(this.#ring).fill(NaN);
    this.#count = new Float64Array(this.#ring);
    this.#sum = new Float64Array(this.#ring);
    this.#min = new Float64Array(this.#ring);
    this.#max = new Float64Array(this.#ring);
    this.#lastTs = new Float64Array(this.#ring);
    this.#lastValue = new Float64Array(this.#ring);
    this.#sketches = agg.startsWith("p")
      ? Array.from({ length: this.#ring }, () => new LogSketch())
      : undefined;
  }

  /** Greatest event time added. */
  get newest(): number {
    return this.#newest;
  }

  add(ts: number, value: number): void {
    if (value !== value || !Number.isFinite(ts)) return;
    const slot = Math.floor(ts / this.#slotMs);
    if (slot <= Math.floor(this.#newest / this.#slotMs) - this.#ring) return;
    if (ts > this.#newest) this.#newest = ts;
    const i = ((slot % this.#ring) + this.#ring) % this.#ring;
    if (this.#slot[i] !== slot) {
      if (this.#slot[i] > slot) return; // the position holds a newer slot: this one was evicted
      this.#slot[i] = slot;
      this.#count[i] = 0;
      this.#sum[i] = 0;
      this.#min[i] = Infinity;
      this.#max[i] = -Infinity;
      this.#lastTs[i] = -Infinity;
      this.#lastValue[i] = NaN;
      if (this.#sketches) this.#sketches[i] = new LogSketch();
    }
    this.#count[i]++;
    this.#sum[i] += value;
    if (value < this.#min[i]) this.#min[i] = value;
    if (value > this.#max[i]) this.#max[i] = value;
    if (ts > this.#lastTs[i] || (ts === this.#lastTs[i] && value > this.#lastValue[i])) {
      this.#lastTs[i] = ts;
      this.#lastValue[i] = value;
    }
    this.#sketches?.[i].add(value);
  }

  /** The aggregate over (at − window, at]; undefined when no sample is in it. */
  aggregate(at: number): number | undefined {
    const first = Math.floor((at - this.windowMs) / this.#slotMs) + 1;
    const last = Math.floor(at / this.#slotMs);
    let count = 0, sum = 0, min = Infinity, max = -Infinity, lastTs = -Infinity, lastValue = NaN;
    let sketch: LogSketch | undefined;
    for (let i = 0; i < this.#ring; i++) {
      const slot = this.#slot[i];
      if (!(slot >= first && slot <= last)) continue;
      count += this.#count[i];
      sum += this.#sum[i];
      if (this.#min[i] < min) min = this.#min[i];
      if (this.#max[i] > max) max = this.#max[i];
      if (this.#lastTs[i] > lastTs || (this.#lastTs[i] === lastTs && this.#lastValue[i] > lastValue)) {
        lastTs = this.#lastTs[i];
        lastValue = this.#lastValue[i];
      }
      if (this.#sketches) (sketch ??= new LogSketch()).merge(this.#sketches[i]);
    }
    if (count === 0) return undefined;
    switch (this.agg) {
      case "avg":
        return sum / count;
      case "min":
        return min;
      case "max":
        return max;
      case "sum":
        return sum;
      case "count":
        return count;
      case "last":
        return lastValue;
      case "p50":
      case "p90":
      case "p95":
      case "p99":
        return sketch!.quantile(percentileQuantile(this.agg));
    }
  }
}
