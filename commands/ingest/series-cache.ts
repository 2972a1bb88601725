/**
 * What ingest has already learnt about a series, keyed by how a decoder saw it on the
 * wire (for the native format: the metric name and the labels object's raw text). A hit
 * skips parsing the labels, checking them against the tenant's limits, hashing the
 * series id and encoding the series for the log: an agent sends the same series every
 * interval, so after the first request nearly every series is a hit.
 *
 * Bounded by two generations, as VictoriaMetrics bounds its caches: entries go into the
 * current generation; when it holds `maxEntries / 2`, it becomes the previous one and
 * the one before is dropped. A hit in the previous generation is moved to the current
 * one, so the series a fleet keeps sending stay while a burst of one-off series ages
 * out after two turns. One cache belongs to one tenant, whose limits it remembers the
 * verdicts of.
 *
 * @example
 * const cache = new SeriesCache(262_144);
 * let known = cache.get(key);
 * if (known === undefined) known = cache.set(key, resolve(metric, labels));
 */
import type { SeriesDef } from "../../domain/series.ts";

/** A series that was accepted (`def`) or rejected for good (`rejection`). */
export interface KnownSeries {
  readonly metric: string;
  readonly def?: SeriesDef;
  readonly rejection?: string;
  /**
   * The wire bytes the entry was resolved from, for decoders whose key is a hash of
   * them: a hit counts only when they are equal (`rangesMatch` in proto-wire.ts).
   */
  readonly source?: Uint8Array;
}

export class SeriesCache {
  readonly #generationSize: number;
  #current = new Map<string, KnownSeries>();
  #previous = new Map<string, KnownSeries>();
  #hits = 0;
  #misses = 0;

  constructor(maxEntries: number) {
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get(key: string): KnownSeries | undefined {
    let known = this.#current.get(key);
    if (known !== undefined) {
      this.#hits++;
      return known;
    }
    known = this.#previous.get(key);
    if (known === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#previous.delete(key);
    this.#insert(key, known);
    return known;
  }

  /**
   * Remembers a series under `key`. The key is copied first: a decoder's key is often
   * a slice of the request body, and keeping the slice would keep the whole body alive.
   */
  set(key: string, known: KnownSeries): KnownSeries {
    this.#insert(copyString(key), known);
    return known;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  #insert(key: string, known: KnownSeries): void {
    if (this.#current.size >= this.#generationSize) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, known);
  }
}

/** A string with storage of its own rather than a view into a larger one. */
export function copyString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
