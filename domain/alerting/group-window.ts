/**
 * The sliding window of one alert group: the window is cut into `slots` equal slots,
 * each a mergeable rollup state (`domain/rollup.ts`), and the aggregate at `at` merges
 * the slots that end after `at − window` and start at or before `at`. A sample counts
 * in the slot of its event time, so out-of-order samples land where they belong; one
 * older than the oldest slot kept is dropped. The window edge is thus exact to one
 * slot (a tenth of the window by default), which is the price of O(slots) memory per
 * group instead of one entry per sample.
 *
 * @example
 * const w = new GroupWindow(60_000);
 * w.add(ts, 93.5);
 * w.aggregate("avg", now) // NaN-free value, or undefined when the window is empty
 */
import { percentile } from "../rollup.ts";
import { addSample, emptyRollup, mergeRollupInto, type RollupState } from "../rollup.ts";
import type { RuleAggregation } from "./rule.ts";

export const DEFAULT_SLOTS = 10;

export class GroupWindow {
  readonly #slotMs: number;
  readonly #slots: number;
  /** Slot number (floor(ts / slotMs)) → state; at most `slots + 1` entries. */
  readonly #states = new Map<number, RollupState>();
  #newest = -Infinity;

  constructor(readonly windowMs: number, slots = DEFAULT_SLOTS) {
    this.#slots = slots;
    this.#slotMs = Math.max(1, Math.ceil(windowMs / slots));
  }

  /** Greatest event time added. */
  get newest(): number {
    return this.#newest;
  }

  add(ts: number, value: number): void {
    if (value !== value || !Number.isFinite(ts)) return;
    const slot = Math.floor(ts / this.#slotMs);
    const newestSlot = Math.floor(this.#newest / this.#slotMs);
    if (ts > this.#newest) {
      this.#newest = ts;
      for (const key of this.#states.keys()) if (key < slot - this.#slots) this.#states.delete(key);
    } else if (slot < newestSlot - this.#slots) {
      return;
    }
    let state = this.#states.get(slot);
    if (state === undefined) this.#states.set(slot, state = emptyRollup());
    addSample(state, ts, value);
  }

  /** The aggregate over (at − window, at]; undefined when no sample is in it. */
  aggregate(agg: RuleAggregation, at: number): number | undefined {
    const first = Math.floor((at - this.windowMs) / this.#slotMs) + 1;
    const last = Math.floor(at / this.#slotMs);
    const total = emptyRollup();
    for (const [slot, state] of this.#states) {
      if (slot >= first && slot <= last) mergeRollupInto(total, state);
    }
    if (total.count === 0) return undefined;
    switch (agg) {
      case "avg":
        return total.sum / total.count;
      case "min":
        return total.min;
      case "max":
        return total.max;
      case "sum":
        return total.sum;
      case "count":
        return total.count;
      case "last":
        return total.lastValue;
      case "p50":
      case "p90":
      case "p95":
      case "p99":
        return percentile(total, agg);
    }
  }
}
