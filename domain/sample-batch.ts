/**
 * Samples of one tenant in columnar form: the series they belong to, and three
 * parallel columns (series index, timestamp in ms, value). Hot paths work on the
 * typed arrays; nothing allocates per sample.
 *
 * @example
 * const b = new SampleBatchBuilder("acme");
 * const s = b.addSeries(def);
 * b.addSample(s, 1700000000000, 0.5);
 * const batch = b.build();
 */
import type { SeriesDef } from "./series.ts";

export interface SampleBatch {
  readonly tenant: string;
  readonly series: readonly SeriesDef[];
  /** Index into `series` for each sample. */
  readonly seriesIndex: Uint32Array;
  /** Event time, milliseconds since the epoch (integers). */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Number of samples; the columns may be longer. */
  readonly length: number;
  /**
   * The series ids as (lo, hi) word pairs in `series` order, when they are known without
   * reading every definition (a batch read from a log record, or decoded by ingest): hot
   * loops read them instead of one object per series.
   */
  readonly seriesIds?: Uint32Array;
}

/** `batch.seriesIds`, or the same words built from `batch.series`. */
export function seriesWords(batch: SampleBatch): Uint32Array {
  if (batch.seriesIds !== undefined) return batch.seriesIds;
  const series = batch.series;
  const words = new Uint32Array(2 * series.length);
  for (let s = 0; s < series.length; s++) {
    words[2 * s] = series[s].id.lo;
    words[2 * s + 1] = series[s].id.hi;
  }
  return words;
}

export class SampleBatchBuilder {
  readonly series: SeriesDef[] = [];
  #seriesIndex: Uint32Array;
  #timestamps: Float64Array;
  #values: Float64Array;
  #length = 0;

  constructor(readonly tenant: string, capacity = 1024) {
    this.#seriesIndex = new Uint32Array(capacity);
    this.#timestamps = new Float64Array(capacity);
    this.#values = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  addSeries(def: SeriesDef): number {
    this.series.push(def);
    return this.series.length - 1;
  }

  addSample(series: number, timestamp: number, value: number): void {
    if (this.#length === this.#values.length) this.#grow();
    const i = this.#length++;
    this.#seriesIndex[i] = series;
    this.#timestamps[i] = timestamp;
    this.#values[i] = value;
  }

  /**
   * Merges series added more than once: `slot[s]` is the index series `s` takes, the
   * first series of each index in their order; samples keep their order.
   */
  mergeSeries(slot: Uint32Array, kept: number): void {
    const series = this.series;
    let k = 0;
    for (let s = 0; s < series.length; s++) {
      if (slot[s] === k) series[k++] = series[s];
    }
    series.length = kept;
    const seriesIndex = this.#seriesIndex;
    for (let i = 0; i < this.#length; i++) seriesIndex[i] = slot[seriesIndex[i]];
  }

  /** The batch; `seriesIds`, when given, are the id words of `series` in order. */
  build(seriesIds?: Uint32Array): SampleBatch {
    return {
      seriesIds,
      tenant: this.tenant,
      series: this.series,
      seriesIndex: this.#seriesIndex,
      timestamps: this.#timestamps,
      values: this.#values,
      length: this.#length,
    };
  }

  #grow(): void {
    const capacity = this.#values.length * 2;
    const seriesIndex = new Uint32Array(capacity);
    seriesIndex.set(this.#seriesIndex);
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.#timestamps);
    const values = new Float64Array(capacity);
    values.set(this.#values);
    this.#seriesIndex = seriesIndex;
    this.#timestamps = timestamps;
    this.#values = values;
  }
}
