/**
 * A `SampleSource` of exactly one sample, re-pointed for every series, for formats
 * that carry one value per series entry (an Influx field, an OTLP data point).
 *
 * @example
 * const sample = new OneSample();
 * collector.addKnown(index, known, sample.of(1700000000000, 0.5));
 */
import type { SampleSource } from "./decode-context.ts";

export class OneSample implements SampleSource {
  readonly count = 1;
  #timestamp = NaN;
  #value: number | undefined = undefined;

  /** `timestamp` in ms (NaN when unusable); `value` undefined when it is not a number. */
  of(timestamp: number, value: number | undefined): this {
    this.#timestamp = timestamp;
    this.#value = value;
    return this;
  }

  timestampAt(): number {
    return this.#timestamp;
  }

  valueAt(): number | undefined {
    return this.#value;
  }
}
