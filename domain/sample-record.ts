/**
 * The binary form of a sample batch on the command log (topic `metrics.samples`).
 * One record carries one tenant's samples for one partition, columnar, so a
 * projection decodes it with a few copies instead of parsing per sample.
 *
 * Layout (little-endian), version "LKS2":
 * ```
 * u32 magic "LKS2" | str tenant | u32 nSeries
 * nSeries × (u32 idLo | u32 idHi | vstr metric | varint nLabels | nLabels × (vstr name | vstr value))
 * u32 nSamples | pad to 8 | nSamples × u32 seriesIndex | pad to 8
 * nSamples × f64 timestamp (ms) | nSamples × f64 value
 * ```
 * `str` is a u32 byte length followed by UTF-8 bytes; `vstr` the same with the length
 * as a varint (7 bits a byte, low bits first, so a name or value under 128 bytes takes
 * one length byte). The series definitions are most of a record's bytes when a request
 * sends one sample per series, and four-byte lengths were a third of a definition.
 *
 * Records of the version before, "LKS1" (every length a u32 and the label count a
 * u16), are still read, so a log written before stays readable.
 *
 * A record that does not follow its layout is rejected with `MalformedRecord`, so a
 * projection can dead-letter it. Names and labels are decoded on first read; their
 * lengths are checked at decode time, invalid UTF-8 is reported when they are read.
 */
import type { SampleBatch } from "./sample-batch.ts";
import { Writer } from "./record-writer.ts";
import { type Labels, makeSeriesId, type SeriesDef, type SeriesId } from "./series.ts";

/** The first four bytes of every record this version writes, "LKS2". */
export const MAGIC = 0x32534b4c;
/** The first four bytes of a record of the version before, "LKS1". */
export const MAGIC_V1 = 0x31534b4c;
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
 * One series as a record carries it (`u32 idLo | u32 idHi | vstr metric | varint
 * nLabels | labels`), for callers that encode a series once and copy it into many records.
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
  w.vstr(def.metric);
  const names = Object.keys(def.labels);
  w.varint(names.length);
  for (const name of names) {
    w.vstr(name);
    w.vstr(def.labels[name]);
  }
}

export function decodeSampleRecord(bytes: Uint8Array): SampleBatch {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  const magic = size < 8 ? 0 : view.getUint32(0, true);
  if (magic !== MAGIC && magic !== MAGIC_V1) throw new MalformedRecord("not a sample record (bad magic)");
  const varints = magic === MAGIC;
  const tenantLength = view.getUint32(4, true);
  let pos = 8 + tenantLength;
  if (pos + 4 > size) throw truncated(pos > size ? 8 : pos, size);
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
  pos = walkDefinitions(bytes, view, pos, ids, starts, varints);
  if (pos + 4 > size) throw truncated(pos, size);
  const n = view.getUint32(pos, true);
  pos += 4;
  pos += (8 - (pos & 7)) & 7;
  if (pos + n * 20 > size) throw truncated(Math.min(pos, size), size);
  const seriesIndex = new Uint32Array(bytes.slice(pos, pos + n * 4).buffer);
  pos += n * 4;
  pos += (8 - (pos & 7)) & 7;
  if (pos + n * 16 > size) throw truncated(pos, size);
  const timestamps = new Float64Array(bytes.slice(pos, pos + n * 8).buffer);
  pos += n * 8;
  const values = new Float64Array(bytes.slice(pos, pos + n * 8).buffer);
  for (let i = 0; i < n; i++) {
    if (seriesIndex[i] >= nSeries) {
      throw new MalformedRecord(`sample ${i} points at series ${seriesIndex[i]} of ${nSeries}`);
    }
  }
  return new DecodedRecord(tenant, bytes, varints, ids, starts, seriesIndex, timestamps, values, n);
}

/**
 * Notes each definition's id and start and returns where the definitions end; every
 * length is checked against the record's end. In "LKS2" a one-byte varint (nearly every
 * name and value) is read inline: a cursor call per string made the walk four times slower.
 */
function walkDefinitions(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  ids: Uint32Array,
  starts: Uint32Array,
  varints: boolean,
): number {
  const size = bytes.length;
  const cursor = new DefinitionCursor(bytes, varints);
  for (let s = 0; s < starts.length; s++) {
    if (pos + 8 > size) throw truncated(pos, size);
    ids[2 * s] = view.getUint32(pos, true);
    ids[2 * s + 1] = view.getUint32(pos + 4, true);
    starts[s] = pos + 8;
    pos = varints ? skipDefinition(bytes, pos + 8, cursor) : cursor.skipDefinition(pos + 8);
  }
  return pos;
}

/** Past the "LKS2" definition's names and labels at `pos`, the cursor taking what is not one byte long. */
function skipDefinition(bytes: Uint8Array, pos: number, cursor: DefinitionCursor): number {
  pos = skipString(bytes, pos, cursor);
  // Past the end, `bytes[pos]` is undefined and takes the cursor, which throws.
  let labels = bytes[pos];
  if (labels < 0x80) pos++;
  else {
    cursor.pos = pos;
    labels = cursor.count();
    pos = cursor.pos;
  }
  for (let l = 0; l < 2 * labels; l++) pos = skipString(bytes, pos, cursor);
  if (pos > bytes.length) throw truncated(bytes.length, bytes.length);
  return pos;
}

/** Past the string at `pos` (a varint length, then its bytes); may point past the end. */
function skipString(bytes: Uint8Array, pos: number, cursor: DefinitionCursor): number {
  const length = bytes[pos];
  if (length < 0x80) return pos + 1 + length;
  cursor.pos = pos;
  cursor.skipString();
  return cursor.pos;
}

function truncated(at: number, size: number): MalformedRecord {
  return new MalformedRecord(`sample record truncated at byte ${at} of ${size}`);
}

/**
 * Walks the strings and counts of series definitions, checking every length against
 * the record's end: varints in "LKS2", u32 string lengths and u16 counts in "LKS1".
 */
class DefinitionCursor {
  pos = 0;

  constructor(readonly bytes: Uint8Array, readonly varints: boolean) {}

  /** The byte length of the string at `pos`; `pos` moves to its first byte. */
  stringLength(): number {
    const length = this.#number(4);
    if (this.pos + length > this.bytes.length) throw truncated(this.pos, this.bytes.length);
    return length;
  }

  skipString(): void {
    const length = this.stringLength();
    this.pos += length;
  }

  /** Past the names and labels of the definition at `at`. */
  skipDefinition(at: number): number {
    this.pos = at;
    this.skipString();
    const labels = this.count();
    for (let l = 0; l < 2 * labels; l++) this.skipString();
    return this.pos;
  }

  count(): number {
    return this.#number(2);
  }

  /** A varint, or a little-endian number of `width` bytes in the version before. */
  #number(width: 2 | 4): number {
    const bytes = this.bytes;
    const at = this.pos;
    if (!this.varints) {
      if (at + width > bytes.length) throw truncated(at, bytes.length);
      this.pos = at + width;
      const low = bytes[at] | (bytes[at + 1] << 8);
      return width === 2 ? low : (low | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
    }
    let value = 0;
    for (let i = 0; i < 5 && at + i < bytes.length; i++) {
      const b = bytes[at + i];
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        this.pos = at + i + 1;
        return value;
      }
    }
    throw truncated(at, bytes.length);
  }
}

/** A decoded record: the columns as read, the series definitions made on first use. */
class DecodedRecord implements SampleBatch {
  #series?: SeriesDef[];

  constructor(
    readonly tenant: string,
    private readonly bytes: Uint8Array,
    private readonly varints: boolean,
    readonly seriesIds: Uint32Array,
    private readonly starts: Uint32Array,
    readonly seriesIndex: Uint32Array,
    readonly timestamps: Float64Array,
    readonly values: Float64Array,
    readonly length: number,
  ) {}

  get series(): readonly SeriesDef[] {
    if (this.#series !== undefined) return this.#series;
    const { seriesIds, starts, bytes, varints } = this;
    const series: SeriesDef[] = new Array(starts.length);
    for (let s = 0; s < starts.length; s++) {
      series[s] = new EncodedSeriesDef(
        makeSeriesId(seriesIds[2 * s], seriesIds[2 * s + 1]),
        bytes,
        varints,
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

  constructor(
    readonly id: SeriesId,
    private readonly bytes: Uint8Array,
    private readonly varints: boolean,
    private readonly at: number,
  ) {}

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
    // The walk in decodeSampleRecord has checked every length against the record's end.
    const cursor = new DefinitionCursor(bytes, this.varints);
    cursor.pos = this.at;
    const str = () => {
      const len = cursor.stringLength();
      const pos = cursor.pos;
      cursor.pos = pos + len;
      const ascii = asciiString(bytes, pos, len);
      if (ascii !== undefined) return ascii;
      try {
        return decoder.decode(bytes.subarray(pos, pos + len));
      } catch {
        throw new MalformedRecord(`sample record has invalid UTF-8 at byte ${pos}`);
      }
    };
    this.#metric = str();
    const nLabels = cursor.count();
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
