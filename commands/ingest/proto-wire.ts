/**
 * Reading the protobuf wire format by hand, for the decoders whose messages are hot:
 * a remote write body holds one small message per label and per sample, and building
 * an object per message (as protobufjs does) costs more than the rest of ingest. The
 * decoders built on this are tested against protobufjs on the same bytes.
 *
 * A `ProtoCursor` walks one buffer; `pos` is public so a decoder can note where a
 * field began and re-read a range later (the series cache keys on raw label bytes).
 * Truncated or malformed input throws `ProtoError` with the offset.
 *
 * @example
 * const cur = new ProtoCursor(bytes);
 * while (cur.pos < end) {
 *   const tag = cur.varint32();
 *   if (tag === 0x0a) { const len = cur.varint32(); … cur.pos += len; }
 *   else cur.skip(tag & 7);
 * }
 */

import type { CachedSeries, KnownSeries, SeriesCache } from "./series-cache.ts";

export class ProtoError extends Error {}

/** Wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

const TWO_32 = 4294967296;
const ascii = new TextDecoder("utf-8", { fatal: true });

export class ProtoCursor {
  pos = 0;
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A varint that fits in 32 bits (tags, lengths, small counts); longer ones throw. */
  varint32(): number {
    const b = this.bytes;
    let pos = this.pos;
    let byte = b[pos++];
    let value = byte & 0x7f;
    if (byte >= 0x80) {
      byte = b[pos++];
      value |= (byte & 0x7f) << 7;
      if (byte >= 0x80) {
        byte = b[pos++];
        value |= (byte & 0x7f) << 14;
        if (byte >= 0x80) {
          byte = b[pos++];
          value |= (byte & 0x7f) << 21;
          if (byte >= 0x80) {
            byte = b[pos++];
            if (byte > 0x0f) return this.#wideVarint32(pos - 5);
            value = (value >>> 0) + byte * 268435456;
          }
        }
      }
    }
    if (pos > b.length) throw new ProtoError(`message is truncated at byte ${this.pos}`);
    this.pos = pos;
    return value >>> 0;
  }

  /**
   * A varint as a signed 64-bit integer (int64), exact up to 2^53 in magnitude, which
   * covers every millisecond timestamp; beyond that it is rounded.
   */
  int64(): number {
    const b = this.bytes;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= b.length) throw new ProtoError(`message is truncated at byte ${this.pos}`);
      byte = b[pos++];
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi = (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      shift += 7;
      if (shift > 70) throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos}`);
    } while (byte >= 0x80);
    this.pos = pos;
    return hi & 0x80000000 ? -((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1) : (hi >>> 0) * TWO_32 + (lo >>> 0);
  }

  /** A little-endian IEEE 754 double; NaN payloads (the Prometheus stale marker) are kept. */
  double(): number {
    if (this.pos + 8 > this.bytes.length) throw new ProtoError(`message is truncated at byte ${this.pos}`);
    const value = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** Reads a length prefix and returns where the field's content ends. */
  lengthEnd(limit: number): number {
    const length = this.varint32();
    const end = this.pos + length;
    if (end > limit) {
      throw new ProtoError(`field of ${length} bytes at byte ${this.pos} overruns its message`);
    }
    return end;
  }

  /** The UTF-8 string between `pos` and `end`; ASCII without TextDecoder's per-call cost. */
  string(end: number): string {
    const b = this.bytes;
    const start = this.pos;
    this.pos = end;
    if (end - start <= 32) {
      let s = "";
      for (let i = start; i < end; i++) {
        const c = b[i];
        if (c >= 0x80) return decodeUtf8(b, start, end);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decodeUtf8(b, start, end);
  }

  /** Skips the value of a field of wire type `wireType`; groups are not supported. */
  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case VARINT:
        this.int64();
        return;
      case FIXED64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd(limit);
        return;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        throw new ProtoError(`wire type ${wireType} at byte ${this.pos} is not supported`);
    }
    if (this.pos > limit) throw new ProtoError(`message is truncated at byte ${limit}`);
  }

  #wideVarint32(start: number): number {
    this.pos = start;
    const value = this.int64();
    if (value < 0 || value > 0xffffffff) {
      throw new ProtoError(`varint at byte ${start} does not fit in 32 bits`);
    }
    return value;
  }
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  try {
    return ascii.decode(bytes.subarray(start, end));
  } catch {
    throw new ProtoError(`string at byte ${start} is not valid UTF-8`);
  }
}

/**
 * Series cache keys for byte ranges (pairs of start, end). Building a string of the
 * bytes themselves costs about 1.5 us for a typical series; a 64-bit hash of them
 * costs a tenth of that. The key is `prefix`, the two hash words and the length, and
 * the entry keeps a copy of the bytes (`source`) that `matches` compares on every hit,
 * so two series whose hashes collide are still told apart.
 *
 * @example
 * const series = new SeriesByRanges(cache, PREFIX);
 * const known = series.known(bytes, ranges, count, () => resolve(…));
 */
export function rangeKey(prefix: string, bytes: Uint8Array, ranges: Uint32Array, count: number): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x4c4f4f4b;
  let length = 0;
  for (let r = 0; r < count; r += 2) {
    const end = ranges[r + 1];
    for (let i = ranges[r]; i < end; i++) {
      const byte = bytes[i];
      h1 = Math.imul(h1 ^ byte, 0x01000193);
      h2 = Math.imul(h2 ^ byte, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    length += end - ranges[r];
  }
  return prefix +
    String.fromCharCode(h1 & 0xffff, h1 >>> 16, h2 & 0xffff, h2 >>> 16, length & 0xffff, length >>> 16);
}

/** Whether the bytes of `ranges` are exactly `source`. */
export function rangesMatch(
  bytes: Uint8Array,
  ranges: Uint32Array,
  count: number,
  source: Uint8Array | undefined,
): boolean {
  if (source === undefined) return false;
  let at = 0;
  for (let r = 0; r < count; r += 2) {
    const end = ranges[r + 1];
    if (at + end - ranges[r] > source.length) return false;
    for (let i = ranges[r]; i < end; i++) if (bytes[i] !== source[at++]) return false;
  }
  return at === source.length;
}

/**
 * The cached series for the bytes of `ranges` over one request, resolved and remembered
 * on a miss. Senders write their series in the same order every time, so the entry that
 * followed the previous series last time is compared with the bytes first, without
 * hashing them. Two different byte strings with one hash key both resolve correctly;
 * the one seen first keeps the entry.
 */
export class SeriesByRanges {
  #previous?: CachedSeries;

  constructor(private readonly cache: SeriesCache, private readonly prefix: string) {}

  known(bytes: Uint8Array, ranges: Uint32Array, count: number, resolve: () => KnownSeries): KnownSeries {
    const { cache, prefix } = this;
    const previous = this.#previous;
    if (previous !== undefined) {
      const predicted = cache.successor(
        previous,
        (next) => next.key.startsWith(prefix) && rangesMatch(bytes, ranges, count, next.source),
      );
      if (predicted !== undefined) return this.#previous = predicted;
    }
    const key = rangeKey(prefix, bytes, ranges, count);
    const hit = cache.get(key);
    let entry: CachedSeries;
    if (hit !== undefined && rangesMatch(bytes, ranges, count, hit.source)) entry = hit;
    else {
      const known = { ...resolve(), source: copyRanges(bytes, ranges, count) };
      if (hit !== undefined) {
        this.#previous = undefined;
        return known;
      }
      entry = cache.set(key, known);
    }
    if (previous !== undefined) cache.link(previous, entry);
    return this.#previous = entry;
  }
}

/** A copy of the bytes of `ranges`, for `rangesMatch`. */
export function copyRanges(bytes: Uint8Array, ranges: Uint32Array, count: number): Uint8Array {
  let length = 0;
  for (let r = 0; r < count; r += 2) length += ranges[r + 1] - ranges[r];
  const out = new Uint8Array(length);
  let at = 0;
  for (let r = 0; r < count; r += 2) {
    out.set(bytes.subarray(ranges[r], ranges[r + 1]), at);
    at += ranges[r + 1] - ranges[r];
  }
  return out;
}
