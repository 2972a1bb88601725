/**
 * The sliding windows of alert groups: each window is cut into `slots` equal slots,
 * each holding the rollup aggregates of its samples (count, sum, min, max, last by
 * time with the greater value winning a tie, as in `domain/rollup.ts`) and, for
 * percentile rules only, a log sketch (`domain/log-sketch.ts`). The aggregate at `at`
 * merges the slots that end after `at − window` and start at or before `at`. A sample
 * counts in the slot of its event time, so out-of-order samples land where they
 * belong; one older than the oldest slot kept is dropped. The window edge is thus exact
 * to one slot (a tenth of the window by default), the price of a fixed ring of slots
 * per group instead of one entry per sample.
 *
 * This is the evaluator's hot path: `WindowArena` keeps the rings of every group in
 * one typed array (a group is a number, its slot fields sit together, and a new group
 * allocates nothing until the arena doubles), so adding a sample or reading an
 * aggregate allocates nothing (but for percentile sketches). `GroupWindow` is one
 * group's window on an arena of its own.
 *
 * @example
 * const arena = new WindowArena();
 * const g = arena.create(60_000, "avg");
 * arena.add(g, ts, 93.5);
 * arena.aggregate(g, now) // the average, or undefined when the window is empty
 */
import { LogSketch, type Percentile, percentileQuantile } from "../log-sketch.ts";
import { grownCopy } from "../typed-arrays.ts";
import type { RuleAggregation } from "./rule.ts";

export const DEFAULT_SLOTS = 10;

/** The fields of one slot in a ring, `FIELDS` numbers apart. */
const SLOT = 0, COUNT = 1, SUM = 2, MIN = 3, MAX = 4, LAST_TS = 5, LAST_VALUE = 6, FIELDS = 7;
const AVG = 0, MIN_AGG = 1, MAX_AGG = 2, SUM_AGG = 3, COUNT_AGG = 4, LAST = 5, PERCENTILE = 6;

function aggCode(agg: RuleAggregation): number {
  switch (agg) {
    case "avg":
      return AVG;
    case "min":
      return MIN_AGG;
    case "max":
      return MAX_AGG;
    case "sum":
      return SUM_AGG;
    case "count":
      return COUNT_AGG;
    case "last":
      return LAST;
    case "p50":
    case "p90":
    case "p95":
    case "p99":
      return PERCENTILE;
  }
}

export class WindowArena {
  /** Ring positions per group: one more slot than a window spans, so a window that starts mid-slot is covered. */
  readonly #ring: number;
  readonly #slots: number;
  /**
   * Per group, per ring position: the slot number (floor(ts / slotMs)) it holds, NaN
   * when empty, then count, sum, min, max, last time and last value.
   */
  #cells: Float64Array;
  #slotMs: Float64Array;
  #windowMs: Float64Array;
  #newest: Float64Array;
  #agg: Uint8Array;
  #aggs: RuleAggregation[] = [];
  /** Per group, a sketch per ring position for percentile rules. */
  #sketches: (LogSketch[] | undefined)[] = [];
  #length = 0;

  constructor(slots = DEFAULT_SLOTS, capacity = 16) {
    this.#slots = slots;
    this.#ring = slots + 1;
    this.#cells = new Float64Array(capacity * this.#ring * FIELDS);
    this.#slotMs = new Float64Array(capacity);
    this.#windowMs = new Float64Array(capacity);
    this.#newest = new Float64Array(capacity);
    this.#agg = new Uint8Array(capacity);
  }

  /** Groups made so far; their numbers are 0 to length − 1. */
  get length(): number {
    return this.#length;
  }

  /** A new, empty window; returns its group number. */
  create(windowMs: number, agg: RuleAggregation): number {
    const g = this.#length++;
    if (g === this.#slotMs.length) this.#grow();
    this.#slotMs[g] = Math.max(1, Math.ceil(windowMs / this.#slots));
    this.#windowMs[g] = windowMs;
    this.#newest[g] = -Infinity;
    this.#agg[g] = aggCode(agg);
    this.#aggs[g] = agg;
    const base = g * this.#ring * FIELDS;
    for (let p = 0; p < this.#ring; p++) this.#cells[base + p * FIELDS + SLOT] = NaN;
    this.#sketches[g] = agg.startsWith("p")
      ? Array.from({ length: this.#ring }, () => new LogSketch())
      : undefined;
    return g;
  }

  /** Group `g` of `from`, copied as a new group of this arena (same slot count); returns its number. */
  adopt(from: WindowArena, g: number): number {
    const own = this.create(from.#windowMs[g], from.#aggs[g]);
    const size = this.#ring * FIELDS;
    this.#cells.set(from.#cells.subarray(g * size, (g + 1) * size), own * size);
    this.#newest[own] = from.#newest[g];
    this.#sketches[own] = from.#sketches[g];
    return own;
  }

  /** Greatest event time added to group `g`. */
  newest(g: number): number {
    return this.#newest[g];
  }

  add(g: number, ts: number, value: number): void {
    if (value !== value || !Number.isFinite(ts)) return;
    const slotMs = this.#slotMs[g], ring = this.#ring;
    const slot = Math.floor(ts / slotMs);
    const newest = this.#newest[g];
    if (slot <= Math.floor(newest / slotMs) - ring) return;
    if (ts > newest) this.#newest[g] = ts;
    const p = ((slot % ring) + ring) % ring;
    const a = this.#cells, i = (g * ring + p) * FIELDS;
    const sketches = this.#sketches[g];
    if (a[i + SLOT] !== slot) {
      if (a[i + SLOT] > slot) return; // the position holds a newer slot: this one was evicted
      a[i + SLOT] = slot;
      a[i + COUNT] = 0;
      a[i + SUM] = 0;
      a[i + MIN] = Infinity;
      a[i + MAX] = -Infinity;
      a[i + LAST_TS] = -Infinity;
      a[i + LAST_VALUE] = NaN;
      if (sketches !== undefined) sketches[p] = new LogSketch();
    }
    a[i + COUNT]++;
    a[i + SUM] += value;
    if (value < a[i + MIN]) a[i + MIN] = value;
    if (value > a[i + MAX]) a[i + MAX] = value;
    if (ts > a[i + LAST_TS] || (ts === a[i + LAST_TS] && value > a[i + LAST_VALUE])) {
      a[i + LAST_TS] = ts;
      a[i + LAST_VALUE] = value;
    }
    sketches?.[p].add(value);
  }

  /** Group `g`'s aggregate over (at − window, at]; undefined when no sample is in it. */
  aggregate(g: number, at: number): number | undefined {
    const slotMs = this.#slotMs[g], ring = this.#ring;
    const first = Math.floor((at - this.#windowMs[g]) / slotMs) + 1;
    const last = Math.floor(at / slotMs);
    let count = 0, sum = 0, min = Infinity, max = -Infinity, lastTs = -Infinity, lastValue = NaN;
    let sketch: LogSketch | undefined;
    const a = this.#cells, sketches = this.#sketches[g];
    for (let p = 0, i = g * ring * FIELDS; p < ring; p++, i += FIELDS) {
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
      if (sketches !== undefined) (sketch ??= new LogSketch()).merge(sketches[p]);
    }
    if (count === 0) return undefined;
    switch (this.#agg[g]) {
      case AVG:
        return sum / count;
      case MIN_AGG:
        return min;
      case MAX_AGG:
        return max;
      case SUM_AGG:
        return sum;
      case COUNT_AGG:
        return count;
      case LAST:
        return lastValue;
      default:
        return sketch!.quantile(percentileQuantile(this.#aggs[g] as Percentile));
    }
  }

  #grow(): void {
    const capacity = this.#slotMs.length * 2;
    this.#cells = grownCopy(this.#cells, capacity * this.#ring * FIELDS);
    this.#slotMs = grownCopy(this.#slotMs, capacity);
    this.#windowMs = grownCopy(this.#windowMs, capacity);
    this.#newest = grownCopy(this.#newest, capacity);
    this.#agg = grownCopy(this.#agg, capacity);
  }
}

/** One group's window, on an arena of its own. */
export class GroupWindow {
  readonly #arena: WindowArena;

  constructor(readonly windowMs: number, readonly agg: RuleAggregation, slots = DEFAULT_SLOTS) {
    this.#arena = new WindowArena(slots, 1);
    this.#arena.create(windowMs, agg);
  }

  /** Greatest event time added. */
  get newest(): number {
    return this.#arena.newest(0);
  }

  add(ts: number, value: number): void {
    this.#arena.add(0, ts, value);
  }

  /** The aggregate over (at − window, at]; undefined when no sample is in it. */
  aggregate(at: number): number | undefined {
    return this.#arena.aggregate(0, at);
  }
}
