/**
 * Decodes a Prometheus remote write 2.0 body (`io.prometheus.write.v2.Request`,
 * already snappy-decompressed) into a sample batch.
 *
 * ```
 * Request    { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
 * TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2;
 *              repeated Histogram histograms = 3; repeated Exemplar exemplars = 4;
 *              Metadata metadata = 5; int64 created_timestamp = 6; }
 * ```
 *
 * Labels are pairs of references into the request's symbol table. The symbols are
 * decoded only when a series is not known yet: the series cache key is the raw bytes
 * of the referenced symbol fields, which spell out the label strings whatever their
 * positions in this request's table. Metadata and created timestamps are ignored;
 * exemplars and native histograms are counted and not stored.
 *
 * @example
 * const result = decodeRemoteWriteV2(snappyDecoded, ctx);
 */
import { DecodeCollector, type DecodeContext } from "./decode-context.ts";
import { LEN, ProtoCursor, ProtoError, SeriesByRanges, VARINT } from "./proto-wire.ts";
import {
  LabelPairs,
  ProtoSamples,
  type RemoteWriteResult,
  SeriesExtras,
  seriesFailure,
  unstoredReason,
} from "./remote-write-series.ts";
import type { KnownSeries } from "./series-cache.ts";

const KEY_PREFIX = "\u0003";

export function decodeRemoteWriteV2(bytes: Uint8Array, ctx: DecodeContext): RemoteWriteResult {
  const cur = new ProtoCursor(bytes);
  const collector = new DecodeCollector(ctx, Math.max(16, bytes.length >> 6));
  const symbols = new SymbolTable(cur);
  const series: number[] = [];
  let cut: { at: number; reason: string } | undefined;
  // Symbols may follow the series that use them, so the top level is walked first.
  while (cur.pos < bytes.length) {
    const at = cur.pos;
    try {
      const tag = cur.varint32();
      if (tag === 0x22) symbols.add(at, cur.lengthEnd(bytes.length));
      else if (tag === 0x2a) {
        const end = cur.lengthEnd(bytes.length);
        series.push(cur.pos, end);
        cur.pos = end;
      } else cur.skip(tag & 7, bytes.length);
    } catch (error) {
      cut = { at, reason: seriesFailure(error, at) };
      break;
    }
  }
  const decoder = new SeriesV2(cur, collector, symbols);
  const extras = new SeriesExtras();
  for (let i = 0; i < series.length; i += 2) {
    cur.pos = series[i];
    decoder.decode(i >> 1, series[i + 1], extras);
  }
  // The top-level structure is lost past the cut: every series before it is kept.
  if (cut !== undefined) collector.rejectSeries(series.length >> 1, cut.reason);
  return { ...collector.result(), ...extras.totals() };
}

/** The request's symbols: where each field lies, and its string once decoded. */
class SymbolTable {
  readonly #cur: ProtoCursor;
  starts: number[] = [];
  ends: number[] = [];
  readonly #strings: (string | undefined)[] = [];

  constructor(cur: ProtoCursor) {
    this.#cur = cur;
  }

  add(fieldStart: number, end: number): void {
    this.starts.push(fieldStart);
    this.ends.push(end);
    this.#cur.pos = end;
  }

  get size(): number {
    return this.starts.length;
  }

  string(ref: number): string {
    let s = this.#strings[ref];
    if (s === undefined) {
      const cur = this.#cur;
      const resume = cur.pos;
      cur.pos = this.starts[ref];
      cur.varint32();
      const end = cur.lengthEnd(this.ends[ref]);
      s = cur.string(end);
      cur.pos = resume;
      this.#strings[ref] = s;
    }
    return s;
  }
}

class SeriesV2 {
  readonly #cur: ProtoCursor;
  readonly #collector: DecodeCollector;
  readonly #symbols: SymbolTable;
  readonly #samples = new ProtoSamples();
  readonly #pairs = new LabelPairs();
  #refs = new Uint32Array(32);
  #ranges = new Uint32Array(32);
  readonly #series?: SeriesByRanges;

  constructor(cur: ProtoCursor, collector: DecodeCollector, symbols: SymbolTable) {
    this.#cur = cur;
    this.#collector = collector;
    this.#symbols = symbols;
    const cache = collector.seriesCache;
    if (cache !== undefined) this.#series = new SeriesByRanges(cache, KEY_PREFIX);
  }

  decode(index: number, end: number, extras: SeriesExtras): void {
    const cur = this.#cur;
    const samples = this.#samples;
    const start = cur.pos;
    samples.reset();
    extras.reset();
    let refs = 0;
    try {
      while (cur.pos < end) {
        const tag = cur.varint32();
        if (tag === 0x12) samples.read(cur, cur.lengthEnd(end));
        else if (tag === ((1 << 3) | LEN)) {
          const refsEnd = cur.lengthEnd(end);
          while (cur.pos < refsEnd) refs = this.#pushRef(refs, cur.varint32());
          if (cur.pos !== refsEnd) throw new ProtoError(`labels_refs overrun their field at byte ${refsEnd}`);
        } else if (tag === ((1 << 3) | VARINT)) refs = this.#pushRef(refs, cur.varint32());
        else if (tag === 0x1a) {
          extras.histogram();
          cur.skip(LEN, end);
        } else if (tag === 0x22) {
          extras.exemplar();
          cur.skip(LEN, end);
        } else cur.skip(tag & 7, end);
      }
    } catch (error) {
      return this.#collector.rejectSeries(index, seriesFailure(error, start), undefined, samples.count);
    }
    const unstored = unstoredReason(samples.count, extras);
    if (unstored !== undefined) return this.#collector.rejectSeries(index, unstored);
    const invalid = this.#checkRefs(refs);
    if (invalid !== undefined) return this.#collector.rejectSeries(index, invalid, undefined, samples.count);

    const series = this.#series;
    if (series === undefined) return this.#collector.addKnown(index, this.#resolve(refs), samples);
    const ranges = this.#keyRanges(refs);
    const known = series.known(cur.bytes, ranges, refs * 2, () => this.#resolve(refs));
    this.#collector.addKnown(index, known, samples);
  }

  #pushRef(refs: number, ref: number): number {
    if (refs === this.#refs.length) {
      const next = new Uint32Array(refs * 2);
      next.set(this.#refs);
      this.#refs = next;
    }
    this.#refs[refs] = ref;
    return refs + 1;
  }

  #checkRefs(refs: number): string | undefined {
    if (refs % 2 !== 0) return `labels_refs has ${refs} entries; it must hold name and value pairs`;
    const size = this.#symbols.size;
    for (let i = 0; i < refs; i++) {
      if (this.#refs[i] >= size) {
        return `label reference ${this.#refs[i]} is outside the symbol table of ${size} entries`;
      }
    }
    return undefined;
  }

  /** The symbol fields a series refers to, in order, as ranges for its cache key. */
  #keyRanges(refs: number): Uint32Array {
    if (this.#ranges.length < refs * 2) this.#ranges = new Uint32Array(refs * 2);
    const { starts, ends } = this.#symbols;
    for (let i = 0; i < refs; i++) {
      const ref = this.#refs[i];
      this.#ranges[2 * i] = starts[ref];
      this.#ranges[2 * i + 1] = ends[ref];
    }
    return this.#ranges;
  }

  #resolve(refs: number): KnownSeries {
    const pairs = this.#pairs;
    pairs.reset();
    try {
      for (let i = 0; i < refs; i += 2) {
        pairs.add(this.#symbols.string(this.#refs[i]), this.#symbols.string(this.#refs[i + 1]));
      }
    } catch (error) {
      pairs.fail(seriesFailure(error, this.#cur.pos));
    }
    const built = pairs.build();
    if ("rejection" in built) return { metric: built.metric ?? "", rejection: built.rejection };
    return this.#collector.resolve(built.metric, built.labels);
  }
}
