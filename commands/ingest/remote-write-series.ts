/**
 * What remote write 1.0 and 2.0 share once a series' labels are found: the samples
 * of a `TimeSeries` (`Sample { double value = 1; int64 timestamp = 2; }` in both
 * versions) read into reused columns, and the label pairs turned into a metric name
 * and labels with Prometheus' rules:
 * - `__name__` is the metric name and must be present;
 * - a label with an empty value is the same as no label, so it is dropped;
 * - a label name given twice rejects the series;
 * - everything else is checked by `DecodeCollector` (name syntax, limits).
 *
 * Also the result both versions return: the decode result plus the exemplars and
 * native histograms that were sent, which the reply reports as not written.
 *
 * @example
 * const series = new LabelPairs();
 * series.add("__name__", "up"); series.add("job", "node");
 * series.build() // { metric: "up", labels: { job: "node" } }
 */
import type { Labels } from "../../domain/series.ts";
import type { DecodeResult, SampleSource } from "./decode-context.ts";
import { type ProtoCursor, ProtoError } from "./proto-wire.ts";

/** Samples of the current series, read from the wire into reused columns. */
export class ProtoSamples implements SampleSource {
  #timestamps = new Float64Array(64);
  #values = new Float64Array(64);
  count = 0;

  reset(): void {
    this.count = 0;
  }

  /** Reads one `Sample` message that ends at `end`. */
  read(cur: ProtoCursor, end: number): void {
    let value = 0;
    let timestamp = 0;
    while (cur.pos < end) {
      const tag = cur.varint32();
      if (tag === 0x09) value = cur.double();
      else if (tag === 0x10) timestamp = cur.int64();
      else cur.skip(tag & 7, end);
    }
    if (cur.pos !== end) throw new ProtoError(`sample overruns its message at byte ${end}`);
    if (this.count === this.#values.length) this.#grow();
    this.#timestamps[this.count] = timestamp;
    this.#values[this.count] = value;
    this.count++;
  }

  timestampAt(i: number): number {
    return this.#timestamps[i];
  }

  valueAt(i: number): number {
    return this.#values[i];
  }

  #grow(): void {
    const timestamps = new Float64Array(this.#values.length * 2);
    timestamps.set(this.#timestamps);
    const values = new Float64Array(this.#values.length * 2);
    values.set(this.#values);
    this.#timestamps = timestamps;
    this.#values = values;
  }
}

/** The result of `LabelPairs.build`: a series, or why it cannot be one. */
export type BuiltSeries = { readonly metric: string; readonly labels: Labels } | {
  readonly rejection: string;
  readonly metric?: string;
};

/** Collects one series' label pairs in wire order. */
export class LabelPairs {
  #labels: Record<string, string> = {};
  #metric: string | undefined;
  #problem: string | undefined;

  reset(): void {
    this.#labels = {};
    this.#metric = undefined;
    this.#problem = undefined;
  }

  add(name: string, value: string): void {
    if (this.#problem !== undefined) return;
    if (name === "__name__") {
      if (this.#metric !== undefined) this.#problem = 'label "__name__" is given twice';
      else this.#metric = value;
      return;
    }
    // On a plain object this name would set the prototype and the label would vanish.
    if (name === "__proto__") {
      this.#problem =
        'label name "__proto__" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)';
      return;
    }
    if (Object.hasOwn(this.#labels, name)) {
      this.#problem = `label "${name}" is given twice`;
      return;
    }
    if (value.length > 0) this.#labels[name] = value;
  }

  /** Marks the series as unusable, e.g. a label reference outside the symbol table. */
  fail(reason: string): void {
    this.#problem ??= reason;
  }

  build(): BuiltSeries {
    const metric = this.#metric;
    if (this.#problem !== undefined) {
      return metric === undefined ? { rejection: this.#problem } : { rejection: this.#problem, metric };
    }
    if (metric === undefined || metric.length === 0) {
      return { rejection: 'series has no metric name (label "__name__")' };
    }
    return { metric, labels: this.#labels };
  }
}

export interface RemoteWriteResult extends DecodeResult {
  /** Native histogram samples sent; none is stored. */
  readonly histogramsSent: number;
  /** Exemplars sent; none is stored. */
  readonly exemplarsSent: number;
}

/** Exemplars and native histograms of the current series and of the whole request. */
export class SeriesExtras {
  histograms = 0;
  exemplars = 0;
  #histogramsTotal = 0;
  #exemplarsTotal = 0;

  reset(): void {
    this.histograms = 0;
    this.exemplars = 0;
  }

  histogram(): void {
    this.histograms++;
    this.#histogramsTotal++;
  }

  exemplar(): void {
    this.exemplars++;
    this.#exemplarsTotal++;
  }

  totals(): { histogramsSent: number; exemplarsSent: number } {
    return { histogramsSent: this.#histogramsTotal, exemplarsSent: this.#exemplarsTotal };
  }
}

/** Why a series with no float samples is rejected, when it is not simply empty. */
export function unstoredReason(samples: number, extras: SeriesExtras): string | undefined {
  if (samples > 0 || extras.histograms === 0) return undefined;
  return `series has only native histogram samples (${extras.histograms}), which are not stored`;
}

/** The rejection reason for a series (or the rest of a body) that could not be read. */
export function seriesFailure(error: unknown, at: number): string {
  if (error instanceof ProtoError) return `malformed protobuf: ${error.message}`;
  if (error instanceof RangeError) return `malformed protobuf at byte ${at}: ${error.message}`;
  throw error;
}
