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
 * This is the evaluator's hot path: the ring is one typed array of per-slot partial
 * aggregates (a group costs one allocation, and a slot's fields sit together), and
 * adding a sample or reading the aggregate allocates nothing (but for percentile
 * sketches).
 *
 * @example
 * const w = new GroupWindow(60_000, "avg");
 * w.add(ts, 93.5);
 * w.aggregate(now) // the average, or undefined when the window is empty
 */
import { LogSketch, percentileQuantile } from "../log-sketch.ts";
import type { RuleAggregation } from "./rule.ts";

export const DEFAULT_SLOTS = 10;

/** The fields of one slot in the ring, `FIELDS` numbers apart. */
const SLOT = 0, COUNT = 1, SUM = 2, MIN = 3, MAX = 4, LAST_TS = 5, LAST_VALUE = 6, FIELDS = 7;

export class GroupWindow {
  readonly #slotMs: number;
  readonly #ring: number;
  /**
   * Per ring position: the slot number (floor(ts / slotMs)) it holds, NaN when empty,
   * then count, sum, min, max, last time and last value.
   */
  readonly #slots: Float64Array;
  readonly #sketches: LogSketch[] | undefined;
  #newest = -Infinity;

  constructor(readonly windowMs: number, readonly agg: RuleAggregation, slots = DEFAULT_SLOTS) {
    this.#slotMs = Math.max(1, Math.ceil(windowMs / slots));
    // One more slot than the window spans, so a window that starts mid-slot is covered.
    this.#ring = slots + 1;
    this.#slots = new Float64Array(this.#ring * FIELDS);
    for (let i = 0; i < this.#ring; i++) this.#slots[i * FIELDS + SLOT] = NaN;
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
    const p = ((slot % this.#ring) + this.#ring) % this.#ring;
    const a = this.#slots, i = p * FIELDS;
    if (a[i + SLOT] !== slot) {
      if (a[i + SLOT] > slot) return; // the position holds a newer slot: this one was evicted
      a[i + SLOT] = slot;
      a[i + COUNT] = 0;
      a[i + SUM] = 0;
      a[i + MIN] = Infinity;
      a[i + MAX] = -Infinity;
      a[i + LAST_TS] = -Infinity;
      a[i + LAST_VALUE] = NaN;
      if (this.#sketches) this.#sketches[p] = new LogSketch();
    }
    a[i + COUNT]++;
    a[i + SUM] += value;
    if (value < a[i + MIN]) a[i + MIN] = value;
    if (value > a[i + MAX]) a[i + MAX] = value;
    if (ts > a[i + LAST_TS] || (ts === a[i + LAST_TS] && value > a[i + LAST_VALUE])) {
      a[i + LAST_TS] = ts;
      a[i + LAST_VALUE] = value;
    }
    this.#sketches?.[p].add(value);
  }

  /** The aggregate over (at − window, at]; undefined when no sample is in it. */
  aggregate(at: number): number | undefined {
    const first = Math.floor((at - this.windowMs) / this.#slotMs) + 1;
    const last = Math.floor(at / this.#slotMs);
    let count = 0, sum = 0, min = Infinity, max = -Infinity, lastTs = -Infinity, lastValue = NaN;
    let sketch: LogSketch | undefined;
    const a = this.#slots;
    for (let p = 0; p < this.#ring; p++) {
      const i = p * FIELDS;
      const slot = a[i + SLOT];
      if (!(slot >= first && slot <= last)) continue;
      count += a[i + COUNT];
      sum += a[i + SUM];
      if (a[i + MIN] < min) min = a[i + MIN];
      if (a[i + MAX] > max) max = a[i + MAX];
      if (a[i + LAST_TS] > lastTs || (a[i + LAST_TS] === lastTs && a[i + LAST_VALUE] > lastValue)) {
        lastTs = a[i + LAST_TS];
        lastValue = a[i + LAST_VALUE];
      }
      if (this.#sketches) (sketch ??= new LogSketch()).merge(this.#sketches[p]);
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
