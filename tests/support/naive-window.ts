/**
 * A reference for `GroupWindow` (`domain/alerting/group-window.ts`): every sample kept,
 * aggregates computed from them directly, and the ring's one slot per position modelled
 * as a map of slots, for differential tests.
 *
 * @example
 * const w = new NaiveWindow(60_000, "avg");
 * w.add(ts, 5);
 * w.aggregate(ts); // 5
 */
import { DEFAULT_SLOTS } from "../../domain/alerting/group-window.ts";
import type { RuleAggregation } from "../../domain/alerting/rule.ts";

/** Every sample kept; the ring's one-slot-per-position eviction modelled on a map of slots. */
export class NaiveWindow {
  readonly #slotMs: number;
  readonly #ring = DEFAULT_SLOTS + 1;
  readonly #slots = new Map<number, [number, number][]>();
  newest = -Infinity;

  constructor(readonly windowMs: number, readonly agg: RuleAggregation) {
    this.#slotMs = Math.max(1, Math.ceil(windowMs / DEFAULT_SLOTS));
  }

  add(ts: number, value: number): void {
    if (Number.isNaN(value) || !Number.isFinite(ts)) return;
    const slot = Math.floor(ts / this.#slotMs);
    if (slot <= Math.floor(this.newest / this.#slotMs) - this.#ring) return;
    this.newest = Math.max(this.newest, ts);
    const position = (s: number) => ((s % this.#ring) + this.#ring) % this.#ring;
    for (const held of this.#slots.keys()) {
      if (held === slot || position(held) !== position(slot)) continue;
      if (held > slot) return;
      this.#slots.delete(held);
    }
    const samples = this.#slots.get(slot) ?? [];
    samples.push([ts, value]);
    this.#slots.set(slot, samples);
  }

  aggregate(at: number): number | undefined {
    const first = Math.floor((at - this.windowMs) / this.#slotMs) + 1;
    const last = Math.floor(at / this.#slotMs);
    const samples = [...this.#slots].filter(([slot]) => slot >= first && slot <= last).flatMap(([, s]) => s);
    if (samples.length === 0) return undefined;
    const values = samples.map(([, v]) => v);
    const sum = values.reduce((a, b) => a + b, 0);
    switch (this.agg) {
      case "avg":
        return sum / values.length;
      case "sum":
        return sum;
      case "count":
        return values.length;
      case "min":
        return Math.min(...values);
      case "max":
        return Math.max(...values);
      case "last":
        return samples.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a))[1];
      default: {
        // The exact order statistic; the window's sketch is within 1% of it.
        const q = Number(this.agg.slice(1)) / 100;
        return values.sort((a, b) => a - b)[Math.floor(q * (values.length - 1))];
      }
    }
  }
}
