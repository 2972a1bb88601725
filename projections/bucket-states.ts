/**
 * Rollup states of one batch in columnar form: for every (tenant, series, bucket) the
 * count, sum, min, max, last and percentile-sketch entries of its samples, with the
 * semantics of `domain/rollup.ts` (NaN ignored, last by timestamp then value). The
 * rollup projection writes these states instead of letting ClickHouse aggregate raw
 * samples, and builds the coarser tier from the finer one, so each sample's sketch key
 * is computed once.
 *
 * Groups live in an open-addressing table over typed arrays: no object per group or
 * per sample.
 *
 * @example
 * const minutes = new BucketAccumulator(60_000);
 * for (const batch of decoded) minutes.add(batch, tenantIx, flags);
 * const hours = coarsenBuckets(minutes.states(), 3_600_000);
 */
import { logSketchKey } from "../domain/log-sketch.ts";
import { type SampleBatch, seriesWords } from "../domain/sample-batch.ts";
import { grownCopy, sameWords } from "./typed-arrays.ts";
import { type SketchEntries, sortedSketchEntries } from "./sketch-entries.ts";

export interface BucketStates {
  readonly widthMs: number;
  readonly groups: number;
  readonly tenantIx: Uint16Array;
  readonly idLo: Uint32Array;
  readonly idHi: Uint32Array;
  /** Bucket number: the bucket starts at `bucket * widthMs`. */
  readonly bucket: Float64Array;
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly lastTs: Float64Array;
  readonly lastValue: Float64Array;
  /** Group `g`'s sketch is keys/counts `[ends[g-1], ends[g])`, keys ascending, each once. */
  readonly sketchEnds: Uint32Array;
  readonly sketchKeys: Int32Array;
  readonly sketchCounts: Float64Array;
}

/**
 * Accumulates the samples of decoded records one record at a time, so a record's decoded
 * series can be dropped before the next is decoded.
 */
export class BucketAccumulator {
  readonly #table: GroupTable;
  #entryGroup: Int32Array;
  #entryKey: Int32Array;
  #entries = 0;
  readonly #tables = new Map<number, SeriesTable>();

  /** `expectedSamples` sizes the first allocation; everything grows past it. */
  constructor(readonly widthMs: number, expectedSamples = 1024) {
    this.#table = new GroupTable(expectedSamples >> 2, widthMs);
    this.#entryGroup = new Int32Array(Math.max(16, expectedSamples));
    this.#entryKey = new Int32Array(Math.max(16, expectedSamples));
  }

  /** Adds the samples whose flag equals `selected` (all when `flags` is undefined). */
  add(batch: SampleBatch, tenantIx: number, flags?: Uint8Array, selected = 0): void {
    const { seriesIndex, timestamps, values, length } = batch;
    if (this.#entries + length > this.#entryKey.length) this.#growEntries(this.#entries + length);
    const table = this.#table;
    const entryGroup = this.#entryGroup;
    const entryKey = this.#entryKey;
    const widthMs = this.widthMs;
    const { lo, hi, lastGroup, lastBucket } = this.#seriesTable(seriesWords(batch), tenantIx);
    let entries = this.#entries;
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v !== v || (flags !== undefined && flags[i] !== selected)) continue;
      const ts = timestamps[i];
      const s = seriesIndex[i];
      const bucket = Math.floor(ts / widthMs);
      let g = lastGroup[s];
      if (g < 0 || lastBucket[s] !== bucket) {
        g = lastGroup[s] = table.group(tenantIx, lo[s], hi[s], bucket);
        lastBucket[s] = bucket;
      }
      table.add(g, ts, v);
      entryGroup[entries] = g;
      entryKey[entries] = logSketchKey(v);
      entries++;
    }
    this.#entries = entries;
  }

  /**
   * The record's series ids with the group and bucket each series used last. Consecutive
   * samples of a series mostly share a bucket and then need no table lookup; and agents
   * send the same series in the same order every interval, so a record whose series
   * table equals an earlier one's carries on with that record's last groups.
   */
  #seriesTable(words: Uint32Array, tenantIx: number): SeriesTable {
    const count = words.length / 2;
    const lo = new Uint32Array(count);
    const hi = new Uint32Array(count);
    let fingerprint = tenantIx;
    for (let s = 0; s < count; s++) {
      lo[s] = words[2 * s];
      hi[s] = words[2 * s + 1];
      fingerprint = Math.imul(fingerprint ^ lo[s], 0x9e3779b1) ^ Math.imul(hi[s], 0x85ebca6b);
    }
    const known = this.#tables.get(fingerprint);
    if (known && known.tenantIx === tenantIx && sameWords(known.lo, lo) && sameWords(known.hi, hi)) {
      return known;
    }
    const table = {
      tenantIx,
      lo,
      hi,
      lastGroup: new Int32Array(count).fill(-1),
      lastBucket: new Float64Array(count),
    };
    this.#tables.set(fingerprint, table);
    return table;
  }

  states(): BucketStates {
    const table = this.#table;
    return table.states(
      sortedSketchEntries(this.#entryGroup, this.#entryKey, undefined, this.#entries, table.groups),
    );
  }

  #growEntries(needed: number): void {
    const size = Math.max(needed, 2 * this.#entryKey.length);
    this.#entryGroup = grownCopy(this.#entryGroup, size);
    this.#entryKey = grownCopy(this.#entryKey, size);
  }
}

interface SeriesTable {
  readonly tenantIx: number;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly lastGroup: Int32Array;
  readonly lastBucket: Float64Array;
}

/** The states of `fine` merged into buckets of `widthMs` (a multiple of `fine.widthMs`). */
export function coarsenBuckets(fine: BucketStates, widthMs: number): BucketStates {
  const table = new GroupTable(fine.groups >> 2, widthMs);
  const groupOf = new Int32Array(fine.groups);
  const ratio = widthMs / fine.widthMs;
  for (let f = 0; f < fine.groups; f++) {
    const g = table.group(fine.tenantIx[f], fine.idLo[f], fine.idHi[f], Math.floor(fine.bucket[f] / ratio));
    groupOf[f] = g;
    table.merge(g, fine, f);
  }
  const n = fine.groups === 0 ? 0 : fine.sketchEnds[fine.groups - 1];
  const entryGroup = new Int32Array(n);
  for (let f = 0, j = 0; f < fine.groups; f++) {
    for (const end = fine.sketchEnds[f]; j < end; j++) entryGroup[j] = groupOf[f];
  }
  return table.states(sortedSketchEntries(entryGroup, fine.sketchKeys, fine.sketchCounts, n, table.groups));
}

function hashKey(lo: number, hi: number, bucket: number, t: number): number {
  const h = Math.imul(lo ^ Math.imul(hi ^ t, 0x9e3779b1) ^ Math.imul(bucket, 0x85ebca6b), 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** Whether (ts, v) replaces (lastTs, lastValue) as last: domain/rollup.ts's rule. */
function isLater(ts: number, v: number, lastTs: number, lastValue: number): boolean {
  if (ts !== lastTs) return ts > lastTs;
  if (v !== lastValue) return v > lastValue;
  return v === 0 && Object.is(lastValue, -0) && !Object.is(v, -0);
}

/** Kept for each slot of the open-addressing table: id lo, id hi, bucket, group. */
const SLOT = 4;
/** A group's accumulators side by side (one cache line): count, sum, min, max, last ts, last value. */
const ACC = 8;
const [COUNT, SUM, MIN, MAX, LAST_TS, LAST_VALUE] = [0, 1, 2, 3, 4, 5];

class GroupTable {
  groups = 0;
  #mask = 0;
  #slots = new Int32Array(0);
  #onlyTenant = -1;
  #severalTenants = false;
  #capacity: number;
  #tenantIx: Uint16Array;
  #bucket: Float64Array;
  #acc: Float64Array;

  /** `expected` groups are allocated up front; the table grows past them. */
  constructor(expected: number, readonly widthMs: number) {
    this.#capacity = Math.max(16, expected);
    this.#tenantIx = new Uint16Array(this.#capacity);
    this.#bucket = new Float64Array(this.#capacity);
    this.#acc = new Float64Array(this.#capacity * ACC);
    this.#rehash();
  }

  /** The group of (tenant, series, bucket), created empty if new. */
  group(t: number, lo: number, hi: number, bucket: number): number {
    const b = bucket | 0;
    if (b !== bucket) {
      throw new RangeError(`Cannot bucket a sample at ${bucket * this.widthMs} ms: outside the rollup range`);
    }
    // Within one tenant (nearly every batch) the slot alone decides; only batches of
    // several tenants also compare the tenant stored with the group.
    if (!this.#severalTenants && t !== this.#onlyTenant) {
      if (this.#onlyTenant < 0) this.#onlyTenant = t;
      else this.#severalTenants = true;
    }
    const slots = this.#slots;
    let h = hashKey(lo, hi, b, t) & this.#mask;
    for (;;) {
      const at = h * SLOT;
      const g = slots[at + 3];
      if (g < 0) break;
      if (
        slots[at] === (lo | 0) && slots[at + 1] === (hi | 0) && slots[at + 2] === b &&
        (!this.#severalTenants || this.#tenantIx[g] === t)
      ) return g;
      h = (h + 1) & this.#mask;
    }
    if (this.groups === this.#capacity) {
      this.#grow();
      return this.group(t, lo, hi, bucket);
    }
    const g = this.groups++;
    const at = h * SLOT;
    slots[at] = lo;
    slots[at + 1] = hi;
    slots[at + 2] = b;
    slots[at + 3] = g;
    this.#tenantIx[g] = t;
    this.#bucket[g] = bucket;
    const acc = this.#acc;
    const a = g * ACC;
    acc[a + MIN] = Infinity;
    acc[a + MAX] = -Infinity;
    acc[a + LAST_TS] = -Infinity;
    acc[a + LAST_VALUE] = NaN;
    return g;
  }

  add(g: number, ts: number, v: number): void {
    const acc = this.#acc;
    const a = g * ACC;
    const count = ++acc[a + COUNT];
    acc[a + SUM] += v;
    if (v < acc[a + MIN]) acc[a + MIN] = v;
    if (v > acc[a + MAX]) acc[a + MAX] = v;
    if (count === 1 || isLater(ts, v, acc[a + LAST_TS], acc[a + LAST_VALUE])) {
      acc[a + LAST_TS] = ts;
      acc[a + LAST_VALUE] = v;
    }
  }

  merge(g: number, from: BucketStates, f: number): void {
    const acc = this.#acc;
    const a = g * ACC;
    if (
      acc[a + COUNT] === 0 ||
      isLater(from.lastTs[f], from.lastValue[f], acc[a + LAST_TS], acc[a + LAST_VALUE])
    ) {
      acc[a + LAST_TS] = from.lastTs[f];
      acc[a + LAST_VALUE] = from.lastValue[f];
    }
    acc[a + COUNT] += from.count[f];
    acc[a + SUM] += from.sum[f];
    if (from.min[f] < acc[a + MIN]) acc[a + MIN] = from.min[f];
    if (from.max[f] > acc[a + MAX]) acc[a + MAX] = from.max[f];
  }

  states(sketch: SketchEntries): BucketStates {
    const n = this.groups;
    const column = (field: number) => {
      const out = new Float64Array(n);
      for (let g = 0; g < n; g++) out[g] = this.#acc[g * ACC + field];
      return out;
    };
    const idLo = new Uint32Array(n);
    const idHi = new Uint32Array(n);
    for (let h = 0; h <= this.#mask; h++) {
      const g = this.#slots[h * SLOT + 3];
      if (g < 0) continue;
      idLo[g] = this.#slots[h * SLOT];
      idHi[g] = this.#slots[h * SLOT + 1];
    }
    return {
      widthMs: this.widthMs,
      groups: n,
      tenantIx: this.#tenantIx.subarray(0, n),
      idLo,
      idHi,
      bucket: this.#bucket.subarray(0, n),
      count: column(COUNT),
      sum: column(SUM),
      min: column(MIN),
      max: column(MAX),
      lastTs: column(LAST_TS),
      lastValue: column(LAST_VALUE),
      sketchEnds: sketch.ends,
      sketchKeys: sketch.keys,
      sketchCounts: sketch.counts,
    };
  }

  #grow(): void {
    this.#capacity *= 2;
    this.#tenantIx = grownCopy(this.#tenantIx, this.#capacity);
    this.#bucket = grownCopy(this.#bucket, this.#capacity);
    this.#acc = grownCopy(this.#acc, this.#capacity * ACC);
    this.#rehash();
  }

  /** Slots for the capacity at a load of at most one half, holding the groups so far. */
  #rehash(): void {
    let size = 16;
    while (size < 2 * this.#capacity) size *= 2;
    const mask = size - 1;
    const slots = new Int32Array(size * SLOT);
    for (let h = 0; h < size; h++) slots[h * SLOT + 3] = -1;
    const old = this.#slots;
    for (let o = 0; o < old.length; o += SLOT) {
      const g = old[o + 3];
      if (g < 0) continue;
      let h = hashKey(old[o], old[o + 1], old[o + 2], this.#tenantIx[g]) & mask;
      while (slots[h * SLOT + 3] >= 0) h = (h + 1) & mask;
      slots.set(old.subarray(o, o + SLOT), h * SLOT);
    }
    this.#mask = mask;
    this.#slots = slots;
  }
}
