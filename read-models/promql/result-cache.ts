/**
 * Results of range queries over closed time, per tenant. A step's value depends only
 * on samples in its own window, so a range query is the union of its steps: steps
 * whose windows lie wholly before the closed horizon (older than the allowed lateness)
 * are kept and a later request over the same grid evaluates only the steps it lacks.
 *
 * Samples that arrive after their window closed are recorded in `late_samples`. An
 * entry remembers the tenant's newest late-sample receipt time from before its steps
 * were evaluated, and is dropped once a newer one exists. Nothing recorded before
 * that mark can be missing from the entry, because the horizon is taken at the same
 * moment and requires raw to have committed every batch the rollups had planned.
 *
 * @example
 * const cache = new RangeResultCache({ maxEntries: 1000 });
 * const hit = cache.lookup(key); // steps [from, to] of a matrix, or undefined
 */
import type { SampleJson } from "./run-query.ts";
import type { Labels } from "./values.ts";

export interface CachedMatrix {
  /** First and last cached step, in ms. */
  readonly from: number;
  readonly to: number;
  readonly series: readonly { metric: Labels; values: SampleJson[] }[];
  /** The tenant's newest `late_samples.received` (ms) before the steps were evaluated. */
  readonly lateMark: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  invalidations: number;
}

export class RangeResultCache {
  readonly #entries = new Map<string, CachedMatrix>();
  readonly stats: CacheStats = { hits: 0, misses: 0, invalidations: 0 };

  constructor(readonly options: { readonly maxEntries: number }) {}

  static key(tenant: string, query: string, start: number, step: number, lookbackMs: number): string {
    // The grid's phase, not its start, identifies it: a dashboard moving forward keeps it.
    return JSON.stringify([tenant, query, step, ((start % step) + step) % step, lookbackMs]);
  }

  lookup(key: string): CachedMatrix | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      // Refresh its place: the map's order is the eviction order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  store(key: string, entry: CachedMatrix): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.options.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  invalidate(key: string): void {
    if (this.#entries.delete(key)) this.stats.invalidations++;
  }
}
