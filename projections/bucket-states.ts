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
 * A series and timestamp added twice counts once, with the value added last (the sample
 * policy: the last written value wins). A sample newer than its group's newest needs no
 * search; an older one walks its group's chain of samples, and a repeat found there
 * replaces the earlier value and marks the group to be recomputed by `states()`.
 *
 * @example
 * const minutes = new BucketAccumulator(60_000);
 * for (const batch of decoded) minutes.add(batch, tenantIx, flags);
 * const hours = coarsenBuckets(minutes.states(), 3_600_000);
 */
import { logSketchKey } from "../domain/log-sketch.ts";
import { type SampleBatch, seriesWords } from "../domain/sample-batch.ts";
import { GroupTable } from "./group-table.ts";
import { grownCopy, sameWords } from "../domain/typed-arrays.ts";
import { sortedSketchEntries } from "./sketch-entries.ts";

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
  #entryTs: Float64Array;
  #entryValue: Float64Array;
  /** The entry added before this one to the same group, −1 for the first. */
  #entryPrevious: Int32Array;
  #entries = 0;
  /** Groups where a repeat replaced a value: their states are recomputed from entries. */
  readonly #replaced = new Set<number>();
  readonly #tables = new Map<number, SeriesTable>();

  /**
   * `expectedSamples` and `expectedGroups` size the first allocations; everything grows
   * past them (each growth of the group table rehashes every group so far).
   */
  constructor(readonly widthMs: number, expectedSamples = 1024, expectedGroups = expectedSamples >> 2) {
    this.#table = new GroupTable(expectedGroups, widthMs);
    const size = Math.max(16, expectedSamples);
    this.#entryGroup = new Int32Array(size);
    this.#entryKey = new Int32Array(size);
    this.#entryTs = new Float64Array(size);
    this.#entryValue = new Float64Array(size);
    this.#entryPrevious = new Int32Array(size);
  }

  /** Adds the samples whose flag equals `selected` (all when `flags` is undefined). */
  add(batch: SampleBatch, tenantIx: number, flags?: Uint8Array, selected = 0): void {
    const { seriesIndex, timestamps, values, length } = batch;
    if (this.#entries + length > this.#entryKey.length) this.#growEntries(this.#entries + length);
    const table = this.#table;
    const entryGroup = this.#entryGroup;
    const entryKey = this.#entryKey;
    const entryTs = this.#entryTs;
    const entryValue = this.#entryValue;
    const entryPrevious = this.#entryPrevious;
    const widthMs = this.widthMs;
    const { lo, hi, lastGroup, lastBucket } = this.#seriesTable(seriesWords(batch), tenantIx);
    let entries = this.#entries;
    for (let i = 0; i < length; i++) {
      if (flags !== undefined && flags[i] !== selected) continue;
      const v = values[i];
      const ts = timestamps[i];
      const s = seriesIndex[i];
      const bucket = Math.floor(ts / widthMs);
      let g = lastGroup[s];
      if (g < 0 || lastBucket[s] !== bucket) {
        // NaN is not counted, so it opens no group; it may still replace a counted value.
        g = v !== v
          ? table.find(tenantIx, lo[s], hi[s], bucket)
          : table.group(tenantIx, lo[s], hi[s], bucket);
        if (g < 0) continue;
        lastGroup[s] = g;
        lastBucket[s] = bucket;
      }
      if (ts <= table.newest(g)) {
        const earlier = this.#entryAt(g, ts);
        if (earlier >= 0) {
          entryValue[earlier] = v;
          if (v === v) entryKey[earlier] = logSketchKey(v);
          this.#replaced.add(g);
          continue;
        }
      }
      if (v !== v) continue;
      table.add(g, ts, v);
      entryGroup[entries] = g;
      entryKey[entries] = logSketchKey(v);
      entryTs[entries] = ts;
      entryValue[entries] = v;
      entryPrevious[entries] = table.chain(g, entries);
      entries++;
    }
    this.#entries = entries;
  }

  /** The entry of group `g` at `ts`, or −1. */
  #entryAt(g: number, ts: number): number {
    for (let e = this.#table.head(g); e >= 0; e = this.#entryPrevious[e]) {
      if (this.#entryTs[e] === ts) return e;
    }
    return -1;
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
    if (this.#replaced.size > 0) this.#recomputeReplaced();
    const states = table.states(
      sortedSketchEntries(this.#entryGroup, this.#entryKey, undefined, this.#entries, table.groups),
    );
    return this.#replaced.size > 0 ? withoutEmptyGroups(states) : states;
  }

  /**
   * Groups where a repeat replaced a value start again from their entries; entries whose
   * value ended as NaN (a counted sample replaced by NaN) are dropped.
   */
  #recomputeReplaced(): void {
    const table = this.#table;
    for (const g of this.#replaced) table.reset(g);
    let kept = 0;
    for (let e = 0; e < this.#entries; e++) {
      const g = this.#entryGroup[e];
      const v = this.#entryValue[e];
      if (v !== v) continue;
      if (this.#replaced.has(g)) table.add(g, this.#entryTs[e], v);
      this.#entryGroup[kept] = g;
      this.#entryKey[kept] = this.#entryKey[e];
      kept++;
    }
    this.#entries = kept;
  }

  #growEntries(needed: number): void {
    const size = Math.max(needed, 2 * this.#entryKey.length);
    this.#entryGroup = grownCopy(this.#entryGroup, size);
    this.#entryKey = grownCopy(this.#entryKey, size);
    this.#entryTs = grownCopy(this.#entryTs, size);
    this.#entryValue = grownCopy(this.#entryValue, size);
    this.#entryPrevious = grownCopy(this.#entryPrevious, size);
  }
}

interface SeriesTable {
  readonly tenantIx: number;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly lastGroup: Int32Array;
  readonly lastBucket: Float64Array;
}

/**
 * The states of `fine` merged into buckets of `widthMs` (a multiple of `fine.widthMs`);
 * `expectedGroups` sizes the table's first allocation.
 */
export function coarsenBuckets(
  fine: BucketStates,
  widthMs: number,
  expectedGroups = fine.groups >> 2,
): BucketStates {
  const table = new GroupTable(expectedGroups, widthMs);
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

/** `states` without the groups whose every sample was replaced by NaN. */
function withoutEmptyGroups(states: BucketStates): BucketStates {
  const kept: number[] = [];
  for (let g = 0; g < states.groups; g++) if (states.count[g] > 0) kept.push(g);
  if (kept.length === states.groups) return states;
  // An empty group has no sketch entries, so the kept groups' ends stay as they are.
  const pick = <T extends Uint16Array | Uint32Array | Float64Array>(column: T): T => {
    const out = new (column.constructor as new (n: number) => T)(kept.length);
    kept.forEach((g, i) => out[i] = column[g]);
    return out;
  };
  return {
    ...states,
    groups: kept.length,
    tenantIx: pick(states.tenantIx),
    idLo: pick(states.idLo),
    idHi: pick(states.idHi),
    bucket: pick(states.bucket),
    count: pick(states.count),
    sum: pick(states.sum),
    min: pick(states.min),
    max: pick(states.max),
    lastTs: pick(states.lastTs),
    lastValue: pick(states.lastValue),
    sketchEnds: pick(states.sketchEnds),
  };
}
