/**
 * What every ingest decoder needs and returns: the tenant's limits and time window
 * going in, a columnar batch plus per-series and per-sample rejections coming out.
 *
 * `DecodeCollector` is the part the decoders share. A decoder walks its own wire
 * shape, hands each candidate series to `addSeries` through a `SampleSource` (a
 * view it re-points at every series, so nothing is allocated per sample), and the
 * collector checks names and limits, drops samples outside the accepted time window
 * and counts why.
 *
 * Accepted window: `now - maxAgeMs <= timestamp <= now + maxFutureMs`, both ends in
 * milliseconds. Values are stored as sent, including NaN and ±Inf.
 *
 * Per-sample reason codes in `rejectedSamples`:
 * - `too_old`, `too_far_in_future`: outside the window;
 * - `invalid_timestamp`: missing or not a finite number;
 * - `invalid_value`: missing or not a number (the format decides which strings count);
 * - `invalid_series`: every sample of a series rejected as a whole;
 * - `cardinality_limit`: the series is new and the tenant or its metric is at its
 *   active-series limit (`admit`).
 *
 * @example
 * const collector = new DecodeCollector(ctx);
 * collector.addSeries(0, "cpu_usage", { host: "a" }, samples);
 * collector.rejectSeries(1, '"metric" is missing or not a string', undefined, 3);
 * const result = collector.result();
 */
import { checkSeries, type LabelLimits } from "../../domain/label-rules.ts";
import { type SampleBatch, SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { type Labels, type SeriesDef, seriesId } from "../../domain/series.ts";
import { encodeSeriesDef } from "../../domain/sample-record.ts";
import type { CachedSeries, KnownSeries, SeriesCache } from "./series-cache.ts";
import { SeriesSlots } from "./series-slots.ts";

export interface DecodeContext {
  readonly tenant: string;
  readonly limits: LabelLimits;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Oldest accepted sample, as an age in ms: the raw retention. */
  readonly maxAgeMs: number;
  /** Newest accepted sample, as a distance into the future in ms (typically 10 minutes). */
  readonly maxFutureMs: number;
  /** The tenant's series cache, for decoders that can key a series before parsing it. */
  readonly seriesCache?: SeriesCache;
  /**
   * The tenant's cardinality limit: called for every series with an accepted sample,
   * returns why a new series is refused (see `domain/limits/active-series.ts`).
   */
  readonly admit?: (def: SeriesDef) => string | undefined;
}

export interface SeriesRejection {
  /** Position of the series in the request (for NDJSON, the 0-based line number). */
  readonly index: number;
  readonly metric?: string;
  readonly reason: string;
}

export interface DecodeResult {
  readonly batch: SampleBatch;
  readonly rejectedSeries: SeriesRejection[];
  /** Reason code → number of samples rejected for it. */
  readonly rejectedSamples: Record<string, number>;
  readonly acceptedSamples: number;
}

/** One candidate series' samples, read by position. */
export interface SampleSource {
  readonly count: number;
  /** Milliseconds since the epoch (an integer), or NaN when there is no usable timestamp. */
  timestampAt(i: number): number;
  /** The value, or undefined when it is not an acceptable number. */
  valueAt(i: number): number | undefined;
}

export class DecodeCollector {
  readonly #ctx: DecodeContext;
  readonly #builder: SampleBatchBuilder;
  readonly #oldest: number;
  readonly #newest: number;
  readonly #rejectedSeries: SeriesRejection[] = [];
  readonly #rejectedSamples: Record<string, number> = {};
  /** Marks the series this request has given a slot (see `#slotOf`). */
  readonly #request = {};
  /** The id words of each batch slot, low then high. */
  #ids: Uint32Array;

  constructor(ctx: DecodeContext, capacity = 1024) {
    this.#ctx = ctx;
    this.#builder = new SampleBatchBuilder(ctx.tenant, Math.max(16, capacity));
    this.#ids = new Uint32Array(64);
    this.#oldest = ctx.now - ctx.maxAgeMs;
    this.#newest = ctx.now + ctx.maxFutureMs;
  }

  /** The tenant's series cache, when the caller keeps one. */
  get seriesCache(): SeriesCache | undefined {
    return this.#ctx.seriesCache;
  }

  /** Rejects a whole series; its `sampleCount` samples are counted as `invalid_series`. */
  rejectSeries(index: number, reason: string, metric?: string, sampleCount = 0): void {
    this.#rejectedSeries.push(metric === undefined ? { index, reason } : { index, metric, reason });
    this.#count("invalid_series", sampleCount);
  }

  /**
   * Checks the series against the tenant's label limits and appends its samples that
   * fall inside the window. A series left without any accepted sample is not added to
   * the batch and gets a rejection that says why.
   */
  addSeries(index: number, metric: string, labels: Labels, samples: SampleSource): void {
    const invalid = checkSeries(metric, labels, this.#ctx.limits);
    if (invalid !== undefined) return this.rejectSeries(index, invalid, metric, samples.count);
    this.#addSamples(index, metric, undefined, labels, samples);
  }

  /**
   * Checks a series once for the cache: the verdict, and for an accepted series its id
   * and its encoding in a log record, so a cache hit skips all of that work.
   */
  resolve(metric: string, labels: Labels): KnownSeries {
    const rejection = checkSeries(metric, labels, this.#ctx.limits);
    if (rejection !== undefined) return { metric, rejection };
    const def: SeriesDef = { id: seriesId(this.#ctx.tenant, metric, labels), metric, labels };
    return {
      metric,
      def: { ...def, wire: encodeSeriesDef(def) },
      lo: def.id.lo,
      hi: def.id.hi,
      slotOf: undefined,
      slot: 0,
    };
  }

  /**
   * `addSeries` for a series `resolve` has already checked. A cached series that the
   * cardinality limit refuses leaves the cache again: a flood of new series past the
   * limit must not fill it (and push out the series that keep flowing).
   */
  addKnown(index: number, known: KnownSeries | CachedSeries, samples: SampleSource): void {
    if (known.def === undefined) {
      return this.rejectSeries(index, known.rejection ?? "series is not valid", known.metric, samples.count);
    }
    const refused = this.#addSamples(index, known.metric, known, undefined, samples);
    if (refused && "key" in known) this.#ctx.seriesCache?.forget(known);
  }

  /**
   * Returns whether the cardinality limit refused the series. A known series' `def` is
   * not read here: its object is rarely in the processor's caches, the known series'
   * own object (just compared with the wire) is.
   */
  #addSamples(
    index: number,
    metric: string,
    known: KnownSeries | undefined,
    labels: Labels | undefined,
    samples: SampleSource,
  ): boolean {
    const count = samples.count;
    if (count === 0) {
      this.rejectSeries(index, "series has no samples", metric);
      return false;
    }

    const builder = this.#builder;
    const oldest = this.#oldest;
    const newest = this.#newest;
    let slot = -1;
    let badTimestamp = 0;
    let tooOld = 0;
    let tooNew = 0;
    let badValue = 0;
    let refused: string | undefined;
    for (let i = 0; i < count; i++) {
      const timestamp = samples.timestampAt(i);
      if (timestamp !== timestamp) {
        badTimestamp++;
        continue;
      }
      if (timestamp < oldest) {
        tooOld++;
        continue;
      }
      if (timestamp > newest) {
        tooNew++;
        continue;
      }
      const value = samples.valueAt(i);
      if (value === undefined) {
        badValue++;
        continue;
      }
      if (slot < 0) {
        const def = known?.def ??
          { id: seriesId(this.#ctx.tenant, metric, labels!), metric, labels: labels! };
        refused = this.#ctx.admit?.(def);
        if (refused !== undefined) {
          this.#count("cardinality_limit", count - i);
          break;
        }
        slot = this.#slotOf(def, known);
      }
      builder.addSample(slot, timestamp, value);
    }
    this.#count("invalid_timestamp", badTimestamp);
    this.#count("too_old", tooOld);
    this.#count("too_far_in_future", tooNew);
    this.#count("invalid_value", badValue);
    if (refused !== undefined) {
      this.#rejectedSeries.push({ index, metric, reason: refused });
      return true;
    }
    if (slot < 0) {
      this.#rejectedSeries.push({
        index,
        metric,
        reason: this.#noSampleAccepted(count, badTimestamp, tooOld, tooNew, badValue),
      });
    }
    return false;
  }

  /**
   * The batch slot of a series, added on first sight: a format that sends one entry
   * per series and timestamp (Influx lines, OTLP points) would otherwise repeat the
   * series in the batch and in the log record once per sample. A known series notes
   * its slot on itself; anything else, and a series known twice (spelled two ways on
   * the wire), gets a slot of its own here and is merged by id in `result`. Looking
   * every series up by its id (`def.id`) as it arrived cost about a third of decoding a
   * 10k-series body: reading the definition missed the processor's caches.
   */
  #slotOf(def: SeriesDef, known: KnownSeries | undefined): number {
    if (known?.lo === undefined) return this.#newSlot(def, def.id.lo, def.id.hi);
    if (known.slotOf === this.#request) return known.slot!;
    known.slot = this.#newSlot(def, known.lo, known.hi!);
    known.slotOf = this.#request;
    return known.slot;
  }

  #newSlot(def: SeriesDef, lo: number, hi: number): number {
    const slot = this.#builder.addSeries(def);
    if (2 * slot + 2 > this.#ids.length) {
      const ids = new Uint32Array(this.#ids.length * 2);
      ids.set(this.#ids);
      this.#ids = ids;
    }
    this.#ids[2 * slot] = lo;
    this.#ids[2 * slot + 1] = hi;
    return slot;
  }

  /** Gives every series added more than once the slot it got first. */
  #mergeRepeatedSeries(): void {
    const count = this.#builder.series.length;
    if (count < 2) return;
    const ids = this.#ids;
    const slots = new SeriesSlots(count);
    let first: Uint32Array | undefined;
    let kept = 0;
    for (let s = 0; s < count; s++) {
      const lo = ids[2 * s];
      const hi = ids[2 * s + 1];
      const earlier = slots.get(lo, hi);
      if (earlier < 0) {
        slots.set(lo, hi, kept);
        if (first !== undefined) first[s] = kept;
        // The words move up with their series, so a second `result` finds nothing to merge.
        ids[2 * kept] = lo;
        ids[2 * kept + 1] = hi;
        kept++;
        continue;
      }
      if (first === undefined) {
        // Every series before this one was the first of its id.
        first = new Uint32Array(count);
        for (let t = 0; t < s; t++) first[t] = t;
      }
      first[s] = earlier;
    }
    if (first !== undefined) this.#builder.mergeSeries(first, kept);
  }

  result(): DecodeResult {
    this.#mergeRepeatedSeries();
    const batch = this.#builder.build(this.#ids.subarray(0, 2 * this.#builder.series.length));
    return {
      batch,
      rejectedSeries: this.#rejectedSeries,
      rejectedSamples: this.#rejectedSamples,
      acceptedSamples: batch.length,
    };
  }

  #count(code: string, n: number): void {
    if (n > 0) this.#rejectedSamples[code] = (this.#rejectedSamples[code] ?? 0) + n;
  }

  #noSampleAccepted(
    count: number,
    badTimestamp: number,
    tooOld: number,
    tooNew: number,
    badValue: number,
  ): string {
    const old = `older than the raw retention of ${formatDuration(this.#ctx.maxAgeMs)}`;
    const future = `more than ${formatDuration(this.#ctx.maxFutureMs)} in the future`;
    const all = count === 1 ? "the only sample is" : `all ${count} samples are`;
    if (tooOld === count) return `${all} ${old}`;
    if (tooNew === count) return `${all} ${future}`;
    const parts: string[] = [];
    if (tooOld > 0) parts.push(`${tooOld} ${old}`);
    if (tooNew > 0) parts.push(`${tooNew} ${future}`);
    if (badTimestamp > 0) parts.push(`${badTimestamp} without a valid timestamp`);
    if (badValue > 0) parts.push(`${badValue} with a value that is not a number`);
    if (badTimestamp + badValue === 0) return `${all} outside the accepted time window: ${parts.join(", ")}`;
    return `none of the ${count} samples is acceptable: ${parts.join(", ")}`;
  }
}

const UNITS: readonly [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]];

/** `604800000` → `7d`, `600000` → `10m`, `90000` → `90s`, `1500` → `1500ms`. */
function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
