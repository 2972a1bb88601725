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
 * Two kinds of series stay out: one the cardinality limit refused (`forget`), which
 * would be a new series every time in a flood of them, and a rejected series whose key
 * is longer than `MAX_REJECTED_KEY_CHARS` (a 1 MB label value is refused again at the
 * cost of reading it, instead of being kept).
 *
 * Agents send their series in the same order every interval, so each entry also
 * remembers the entry that followed it last time: a decoder that checks
 * `successor(previous)` against the wire first skips hashing the key. The link is a
 * plain reference, cleared on every entry of a generation as it is dropped, so an
 * evicted entry is kept alive by at most one link and holds none itself (a `WeakRef`
 * per link cost about 0.5 µs per line to follow, with the collector's work).
 *
 * @example
 * const cache = new SeriesCache(262_144);
 * let known = cache.get(key);
 * if (known === undefined) known = cache.set(key, resolve(metric, labels));
 */
import type { SeriesDef } from "../../domain/series.ts";

/** Longer keys of rejected series are not kept: far over any label limit's length. */
export const MAX_REJECTED_KEY_CHARS = 16_384;
const FORGOTTEN = -Infinity;

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
  /**
   * For a key that joins two parts of the wire after a one-character prefix (Influx:
   * the measurement and tags, a space, the field key), how long the first part is.
   */
  readonly split?: number;
  /** `def.id`'s words, kept here so a decoder need not follow `def` (see `DecodeCollector`). */
  readonly lo?: number;
  readonly hi?: number;
  /** The request (its collector's token) that last gave the series a batch slot, and that slot. */
  slotOf?: object;
  slot?: number;
}

/** An entry of the cache: the series, the key it is stored under, and what followed it. */
export interface CachedSeries extends KnownSeries {
  readonly key: string;
}

interface Entry extends CachedSeries {
  generation: number;
  next?: Entry;
}

export class SeriesCache {
  readonly #generationSize: number;
  #current = new Map<string, Entry>();
  #previous = new Map<string, Entry>();
  #generation = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxEntries: number) {
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get(key: string): CachedSeries | undefined {
    const entry = this.#current.get(key) ?? this.#previous.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#touch(entry);
    return entry;
  }

  /**
   * The entry that followed `entry` last time, if it is still cached and `matches` it
   * (the caller compares its key or its source with the wire without building a key).
   */
  successor(entry: CachedSeries, matches: (next: CachedSeries) => boolean): CachedSeries | undefined {
    const next = (entry as Entry).next;
    if (next === undefined || next.generation < this.#generation - 1 || !matches(next)) return undefined;
    this.#hits++;
    this.#touch(next);
    return next;
  }

  /** Records that `next` followed `entry` on the wire. */
  link(entry: CachedSeries, next: CachedSeries): void {
    const from = entry as Entry;
    if (from.next !== next) from.next = next as Entry;
  }

  /**
   * Remembers a series under `key`. The key is copied first: a decoder's key is often
   * a slice of the request body, and keeping the slice would keep the whole body alive.
   */
  set(key: string, known: KnownSeries): CachedSeries {
    if (known.def === undefined && key.length > MAX_REJECTED_KEY_CHARS) {
      return { ...known, key, generation: FORGOTTEN } as Entry;
    }
    const entry: Entry = { ...known, key: copyString(key), generation: this.#generation };
    this.#insert(entry);
    return entry;
  }

  /** Drops an entry (a series the cardinality limit refused); a successor link to it no longer hits. */
  forget(cached: CachedSeries): void {
    const entry = cached as Entry;
    if (entry.generation === FORGOTTEN) return;
    const map = entry.generation === this.#generation ? this.#current : this.#previous;
    if (map.get(entry.key) === entry) map.delete(entry.key);
    entry.generation = FORGOTTEN;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Keeps an entry of the previous generation by moving it to the current one. */
  #touch(entry: Entry): void {
    if (entry.generation === this.#generation) return;
    this.#previous.delete(entry.key);
    this.#insert(entry);
  }

  #insert(entry: Entry): void {
    if (this.#current.size >= this.#generationSize) {
      for (const dropped of this.#previous.values()) dropped.next = undefined;
      this.#previous = this.#current;
      this.#current = new Map();
      this.#generation++;
    }
    entry.generation = this.#generation;
    this.#current.set(entry.key, entry);
  }
}

/**
 * A string with storage of its own rather than a view into a larger one. Slicing a
 * concatenation makes V8 flatten it into a new string first, so the result no longer
 * points into `s`'s parent; about 4× cheaper than a JSON round trip for a series key.
 */
export function copyString(s: string): string {
  return (" " + s).slice(1);
}
