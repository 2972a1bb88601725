/**
 * Decodes a Prometheus remote write 1.0 body (`prometheus.WriteRequest`, already
 * snappy-decompressed) into a sample batch.
 *
 * ```
 * WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 * TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
 *                repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 * Label        { string name = 1; string value = 2; }
 * ```
 *
 * The series cache is keyed by the raw bytes of a series' label fields: an agent
 * encodes a series the same way every time, so a known series costs a byte scan and a
 * look-up, and its labels are only parsed the first time. Metadata is ignored;
 * exemplars and native histograms are counted and not stored. A series whose bytes
 * are malformed is rejected alone; a body cut short keeps every series before the cut.
 *
 * @example
 * const result = decodeRemoteWriteV1(snappyDecoded, ctx);
 */
import { DecodeCollector, type DecodeContext } from "./decode-context.ts";
import { ProtoCursor, SeriesByRanges } from "./proto-wire.ts";
import {
  LabelPairs,
  ProtoSamples,
  type RemoteWriteResult,
  SeriesExtras,
  seriesFailure,
  unstoredReason,
} from "./remote-write-series.ts";
import type { KnownSeries } from "./series-cache.ts";

const KEY_PREFIX = "\u0002";

export function decodeRemoteWriteV1(bytes: Uint8Array, ctx: DecodeContext): RemoteWriteResult {
  const cur = new ProtoCursor(bytes);
  const collector = new DecodeCollector(ctx, Math.max(16, bytes.length >> 6));
  const series = new SeriesV1(cur, collector);
  const extras = new SeriesExtras();
  let index = 0;
  while (cur.pos < bytes.length) {
    const at = cur.pos;
    try {
      const tag = cur.varint32();
      if (tag !== 0x0a) {
        cur.skip(tag & 7, bytes.length);
        continue;
      }
      const end = cur.lengthEnd(bytes.length);
      series.decode(index, end, extras);
      cur.pos = end;
    } catch (error) {
      // The top-level structure is lost past this point: keep what came before.
      collector.rejectSeries(index, seriesFailure(error, at));
      break;
    }
    index++;
  }
  return { ...collector.result(), ...extras.totals() };
}

class SeriesV1 {
  readonly #cur: ProtoCursor;
  readonly #collector: DecodeCollector;
  readonly #samples = new ProtoSamples();
  readonly #pairs = new LabelPairs();
  readonly #series?: SeriesByRanges;
  #ranges = new Uint32Array(16);

  constructor(cur: ProtoCursor, collector: DecodeCollector) {
    this.#cur = cur;
    this.#collector = collector;
    const cache = collector.seriesCache;
    if (cache !== undefined) this.#series = new SeriesByRanges(cache, KEY_PREFIX);
  }

  /** Decodes the `TimeSeries` from `cur.pos` to `end`; a malformed one is rejected alone. */
  decode(index: number, end: number, extras: SeriesExtras): void {
    const cur = this.#cur;
    const samples = this.#samples;
    const start = cur.pos;
    samples.reset();
    extras.reset();
    let ranges = 0;
    try {
      while (cur.pos < end) {
        const at = cur.pos;
        const tag = cur.varint32();
        if (tag === 0x12) {
          const sampleEnd = cur.lengthEnd(end);
          samples.read(cur, sampleEnd);
        } else if (tag === 0x0a) {
          const fieldEnd = cur.lengthEnd(end);
          if (ranges > 0 && this.#ranges[ranges - 1] === at) this.#ranges[ranges - 1] = fieldEnd;
          else {
            if (ranges === this.#ranges.length) this.#growRanges();
            this.#ranges[ranges++] = at;
            this.#ranges[ranges++] = fieldEnd;
          }
          cur.pos = fieldEnd;
        } else if (tag === 0x1a) {
          extras.exemplar();
          cur.skip(2, end);
        } else if (tag === 0x22) {
          extras.histogram();
          cur.skip(2, end);
        } else cur.skip(tag & 7, end);
      }
    } catch (error) {
      return this.#collector.rejectSeries(index, seriesFailure(error, start), undefined, samples.count);
    }
    const unstored = unstoredReason(samples.count, extras);
    if (unstored !== undefined) return this.#collector.rejectSeries(index, unstored);

    const series = this.#series;
    if (series === undefined) return this.#collector.addKnown(index, this.#resolve(ranges), samples);
    const known = series.known(cur.bytes, this.#ranges, ranges, () => this.#resolve(ranges));
    this.#collector.addKnown(index, known, samples);
  }

  /** Parses the label fields in `#ranges` and checks the series. */
  #resolve(ranges: number): KnownSeries {
    const cur = this.#cur;
    const pairs = this.#pairs;
    const resume = cur.pos;
    pairs.reset();
    try {
      for (let r = 0; r < ranges; r += 2) {
        cur.pos = this.#ranges[r];
        const rangeEnd = this.#ranges[r + 1];
        while (cur.pos < rangeEnd) {
          cur.varint32(); // the labels tag, already checked
          const labelEnd = cur.lengthEnd(rangeEnd);
          let name = "";
          let value = "";
          while (cur.pos < labelEnd) {
            const tag = cur.varint32();
            if (tag === 0x0a) name = cur.string(cur.lengthEnd(labelEnd));
            else if (tag === 0x12) value = cur.string(cur.lengthEnd(labelEnd));
            else cur.skip(tag & 7, labelEnd);
          }
          pairs.add(name, value);
        }
      }
    } catch (error) {
      pairs.fail(seriesFailure(error, this.#ranges[0]));
    } finally {
      cur.pos = resume;
    }
    const built = pairs.build();
    if ("rejection" in built) return { metric: built.metric ?? "", rejection: built.rejection };
    return this.#collector.resolve(built.metric, built.labels);
  }

  #growRanges(): void {
    const next = new Uint32Array(this.#ranges.length * 2);
    next.set(this.#ranges);
    this.#ranges = next;
  }
}
