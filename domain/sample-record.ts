/**
 * The binary form of a sample batch on the command log (topic `metrics.samples`).
 * One record carries one tenant's samples for one partition, columnar, so a
 * projection decodes it with a few copies instead of parsing per sample.
 *
 * Layout (little-endian):
 * ```
 * u32 magic "LKS1" | str tenant | u32 nSeries
 * nSeries × (u32 idLo | u32 idHi | str metric | u16 nLabels | nLabels × (str name | str value))
 * u32 nSamples | pad to 8 | nSamples × u32 seriesIndex | pad to 8
 * nSamples × f64 timestamp (ms) | nSamples × f64 value
 * ```
 * `str` is a u32 byte length followed by UTF-8 bytes. A record that does not follow
 * this layout is rejected with `MalformedRecord`, so a projection can dead-letter it.
 * Names and labels are decoded on first read; their lengths are checked at decode time,
 * invalid UTF-8 is reported when they are read.
 */
import type { SampleBatch } from "./sample-batch.ts";
import { Writer } from "./record-writer.ts";
import { type Labels, makeSeriesId, type SeriesDef, type SeriesId } from "./series.ts";

/** The first four bytes of every record, "LKS1". */
export const MAGIC = 0x31534b4c;
const decoder = new TextDecoder("utf-8", { fatal: true });

export class MalformedRecord extends Error {}

export function encodeSampleRecord(batch: SampleBatch): Uint8Array {
  const n = batch.length;
  // Sized from the encoded series where ingest has them, so the buffer rarely grows.
  let seriesBytes = 0;
  for (const def of batch.series) seriesBytes += def.wire?.length ?? 64;
  const w = new Writer(32 + batch.tenant.length * 3 + seriesBytes + n * 20);
  w.u32(MAGIC);
  w.str(batch.tenant);
  w.u32(batch.series.length);
  for (const def of batch.series) {
    if (def.wire === undefined) writeSeriesDef(w, def);
    else w.bytes(def.wire);
  }
  w.u32(n);
  w.align8();
  w.bytes(new Uint8Array(batch.seriesIndex.buffer, batch.seriesIndex.byteOffset, n * 4));
  w.align8();
  w.bytes(new Uint8Array(batch.timestamps.buffer, batch.timestamps.byteOffset, n * 8));
  w.bytes(new Uint8Array(batch.values.buffer, batch.values.byteOffset, n * 8));
  // A few spare bytes are cheaper to keep than a copy of the whole record.
  return w.buf.length - w.pos <= 1024 ? w.buf.subarray(0, w.pos) : w.buf.slice(0, w.pos);
}

/**
 * One series as a record carries it (`u32 idLo | u32 idHi | str metric | u16 nLabels |
 * labels`), for callers that encode a series once and copy it into many records.
 */
export function encodeSeriesDef(def: SeriesDef): Uint8Array {
  // Encoded into one reused buffer and copied out once: a Writer of its own per series
  // (a buffer, its DataView, then the copy) cost more than the encoding.
  const w = seriesScratch;
  w.pos = 0;
  writeSeriesDef(w, def);
  return w.buf.slice(0, w.pos);
}

const seriesScratch = new Writer(1024);

/** One series definition as a record carries it. */
export function writeSeriesDef(w: Writer, def: SeriesDef): void {
  w.u32(def.id.lo);
  w.u32(def.id.hi);
  w.str(def.metric);
  const names = Object.keys(def.labels);
  w.u16(names.length);
  for (const name of names) {
    w.str(name);
    w.str(def.labels[name]);
  }
}

export function decodeSampleRecord(bytes: Uint8Array): SampleBatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  const truncated = (at: number) => new MalformedRecord(`sample record truncated at byte ${at} of ${size}`);
  if (size < 8 || view.getUint32(0, true) !== MAGIC) {
    throw new MalformedRecord("not a sample record (bad magic)");
  }
  const tenantLength = view.getUint32(4, true);
  let pos = 8 + tenantLength;
  if (pos + 4 > size) throw truncated(pos > size ? 8 : pos);
  let tenant: string;
  try {
    tenant = decoder.decode(bytes.subarray(8, pos));
  } catch {
    throw new MalformedRecord(`sample record has invalid UTF-8 at byte 8`);
  }
  const nSeries = view.getUint32(pos, true);
  pos += 4;
  if (nSeries > size) {
    throw new MalformedRecord(`sample record declares ${nSeries} series in ${size} bytes`);
  }
  // Series definitions are walked, not decoded: the rollup never reads names or labels,
  // and the raw projection reads them only for series it has not written yet. The walk
  // keeps the ids as a column and where each definition starts, and allocates nothing
  // per series: a definition becomes an object only when `series` is first read.
  const ids = new Uint32Array(2 * nSeries);
  const starts = new Uint32Array(nSeries);
  for (let s = 0; s < nSeries; s++) {
    if (pos + 12 > size) throw truncated(pos);
    ids[2 * s] = view.getUint32(pos, true);
    ids[2 * s + 1] = view.getUint32(pos + 4, true);
    starts[s] = pos + 8;
    pos += 12 + view.getUint32(pos + 8, true);
    if (pos + 2 > size) throw truncated(pos > size ? starts[s] : pos);
    const nLabels = view.getUint16(pos, true);
    pos += 2;
    for (let l = 0; l < 2 * nLabels; l++) {
      if (pos + 4 > size) throw truncated(pos);
      const at = pos;
      pos += 4 + view.getUint32(pos, true);
      if (pos > size) throw truncated(at + 4);
    }
  }
  if (pos + 4 > size) throw truncated(pos);
  const n = view.getUint32(pos, true);
  pos += 4;
  pos += (8 - (pos & 7)) & 7;
  if (pos + n * 20 > size) throw truncated(Math.min(pos, size));
  const seriesIndex = new Uint32Array(bytes.slice(pos, pos + n * 4).buffer);
  pos += n * 4;
  pos += (8 - (pos & 7)) & 7;
  if (pos + n * 16 > size) throw truncated(pos);
  const timestamps = new Float64Array(bytes.slice(pos, pos + n * 8).buffer);
  pos += n * 8;
  const values = new Float64Array(bytes.slice(pos, pos + n * 8).buffer);
  for (let i = 0; i < n; i++) {
    if (seriesIndex[i] >= nSeries) {
      throw new MalformedRecord(`sample ${i} points at series ${seriesIndex[i]} of ${nSeries}`);
    }
  }
  return new DecodedRecord(tenant, bytes, ids, starts, seriesIndex, timestamps, values, n);
}

/** A decoded record: the columns as read, the series definitions made on first use. */
class DecodedRecord implements SampleBatch {
  #series?: SeriesDef[];

  constructor(
    readonly tenant: string,
    private readonly bytes: Uint8Array,
    readonly seriesIds: Uint32Array,
    private readonly starts: Uint32Array,
    readonly seriesIndex: Uint32Array,
    readonly timestamps: Float64Array,
    readonly values: Float64Array,
    readonly length: number,
  ) {}

  get series(): readonly SeriesDef[] {
    if (this.#series !== undefined) return this.#series;
    const { seriesIds, starts, bytes } = this;
    const series: SeriesDef[] = new Array(starts.length);
    for (let s = 0; s < starts.length; s++) {
      series[s] = new EncodedSeriesDef(
        makeSeriesId(seriesIds[2 * s], seriesIds[2 * s + 1]),
        bytes,
        starts[s],
      );
    }
    return this.#series = series;
  }
}

/** A series definition whose metric and labels are decoded when first read. */
class EncodedSeriesDef implements SeriesDef {
  #metric?: string;
  #labels?: Labels;

  constructor(readonly id: SeriesId, private readonly bytes: Uint8Array, private readonly at: number) {}

  get metric(): string {
    if (this.#metric === undefined) this.#decode();
    return this.#metric!;
  }

  get labels(): Labels {
    if (this.#labels === undefined) this.#decode();
    return this.#labels!;
  }

  #decode(): void {
    const bytes = this.bytes;
    let pos = this.at;
    const str = () => {
      const len = (bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24)) >>>
        0;
      pos += 4;
      const ascii = asciiString(bytes, pos, len);
      if (ascii !== undefined) {
        pos += len;
        return ascii;
      }
      try {
        return decoder.decode(bytes.subarray(pos, pos += len));
      } catch {
        throw new MalformedRecord(`sample record has invalid UTF-8 at byte ${pos - len}`);
      }
    };
    this.#metric = str();
    const nLabels = bytes[pos] | (bytes[pos + 1] << 8);
    pos += 2;
    const labels: Record<string, string> = {};
    for (let l = 0; l < nLabels; l++) {
      const name = str();
      labels[name] = str();
    }
    this.#labels = labels;
  }
}

/** Short ASCII strings (almost every name and label) skip TextDecoder's per-call cost. */
function asciiString(bytes: Uint8Array, at: number, length: number): string | undefined {
  if (length > 64) return undefined;
  let out = "";
  for (let i = at; i < at + length; i++) {
    const b = bytes[i];
    if (b >= 0x80) return undefined;
    out += String.fromCharCode(b);
  }
  return out;
}
