/**
 * Active series of one tenant, and the cardinality limits on them: at most
 * `maxSeries` active series for the tenant and `maxSeriesPerMetric` for any one metric.
 *
 * Estimator: a series is active from the first sample accepted for it until it has
 * gone a whole window (`windowMs`) and part of the next without a sample. The series
 * are held in two generations of exact sets of their ids, rotated every window: a
 * series seen in the current generation stays, one seen in the previous one moves up,
 * and the one before is dropped, so a series counts as active for between one and two
 * windows after its last sample. The count is exact over those sets (each id is one
 * 64-bit series id, held as its two 32-bit words); memory is bounded by the limit,
 * because a series past the limit is never added.
 *
 * A series that is already active is always admitted, so a tenant at its limit keeps
 * sending its existing series while new ones are refused.
 *
 * @example
 * const active = new ActiveSeries({ maxSeries: 100_000, maxSeriesPerMetric: 20_000, windowMs: 3_600_000 }, now);
 * active.admit(def.id, def.metric, now) // undefined, or why the new series is refused
 */
import type { SeriesId } from "../series.ts";

export interface CardinalityLimit {
  readonly maxSeries: number;
  readonly maxSeriesPerMetric: number;
  /** How long a series without samples stays active (at least this, at most twice). */
  readonly windowMs: number;
}

interface Generation {
  /** Series id low word → high words (a low word can be shared). */
  readonly ids: Map<number, number | number[]>;
  readonly perMetric: Map<string, number>;
}

export class ActiveSeries {
  readonly limit: CardinalityLimit;
  #current: Generation = generation();
  #previous: Generation = generation();
  #count = 0;
  #rotateAt: number;

  constructor(limit: CardinalityLimit, now: number) {
    this.limit = limit;
    this.#rotateAt = now + limit.windowMs;
  }

  get count(): number {
    return this.#count;
  }

  /** Active series of `metric`. */
  ofMetric(metric: string): number {
    return (this.#current.perMetric.get(metric) ?? 0) + (this.#previous.perMetric.get(metric) ?? 0);
  }

  /** Active series per metric, largest first. */
  topMetrics(limit: number): [string, number][] {
    const all = new Map(this.#previous.perMetric);
    for (const [m, n] of this.#current.perMetric) all.set(m, (all.get(m) ?? 0) + n);
    return [...all].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  }

  /** Marks the series active; returns why it is refused when it is new and over a limit. */
  admit(id: SeriesId, metric: string, now: number): string | undefined {
    if (now >= this.#rotateAt) this.#rotate(now);
    if (has(this.#current, id)) return undefined;
    if (has(this.#previous, id)) {
      remove(this.#previous, id, metric);
      add(this.#current, id, metric);
      return undefined;
    }
    if (this.#count >= this.limit.maxSeries) {
      return `the tenant has ${this.#count} active series, its limit; new series are refused until some have had no samples for ${
        this.limit.windowMs / 60_000
      } min`;
    }
    const ofMetric = this.ofMetric(metric);
    if (ofMetric >= this.limit.maxSeriesPerMetric) {
      return `metric "${metric}" has ${ofMetric} active series, the limit per metric; new series of it are refused`;
    }
    add(this.#current, id, metric);
    this.#count++;
    return undefined;
  }

  #rotate(now: number): void {
    this.#previous = this.#current;
    this.#current = generation();
    this.#count = 0;
    for (const n of this.#previous.perMetric.values()) this.#count += n;
    // A long pause rotates twice: nothing seen for two windows is active.
    if (now >= this.#rotateAt + this.limit.windowMs) {
      this.#previous = generation();
      this.#count = 0;
    }
    this.#rotateAt = now + this.limit.windowMs;
  }
}

function generation(): Generation {
  return { ids: new Map(), perMetric: new Map() };
}

function has(g: Generation, id: SeriesId): boolean {
  const hi = g.ids.get(id.lo);
  if (hi === undefined) return false;
  return typeof hi === "number" ? hi === id.hi : hi.includes(id.hi);
}

function add(g: Generation, id: SeriesId, metric: string): void {
  const hi = g.ids.get(id.lo);
  if (hi === undefined) g.ids.set(id.lo, id.hi);
  else if (typeof hi === "number") g.ids.set(id.lo, [hi, id.hi]);
  else hi.push(id.hi);
  g.perMetric.set(metric, (g.perMetric.get(metric) ?? 0) + 1);
}

function remove(g: Generation, id: SeriesId, metric: string): void {
  const hi = g.ids.get(id.lo);
  if (typeof hi === "number") g.ids.delete(id.lo);
  else if (hi !== undefined) {
    const rest = hi.filter((h) => h !== id.hi);
    if (rest.length === 1) g.ids.set(id.lo, rest[0]);
    else g.ids.set(id.lo, rest);
  }
  const n = (g.perMetric.get(metric) ?? 1) - 1;
  if (n === 0) g.perMetric.delete(metric);
  else g.perMetric.set(metric, n);
}
