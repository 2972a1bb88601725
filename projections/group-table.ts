/**
 * The open-addressing table of rollup groups behind `BucketAccumulator`: one group per
 * (tenant, series, bucket), its accumulators (count, sum, min, max, last) side by side in
 * one Float64Array, and the head of the group's chain of sample entries, so a repeated
 * timestamp can be found among the group's samples without a table per sample.
 *
 * @example
 * const table = new GroupTable(1024, 60_000);
 * const g = table.group(tenantIx, lo, hi, bucket);
 * table.add(g, ts, v);
 * const states = table.states(sketch);
 */
import type { BucketStates } from "./bucket-states.ts";
import type { SketchEntries } from "./sketch-entries.ts";
import { grownCopy } from "../domain/typed-arrays.ts";

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
/**
 * A group's accumulators side by side (one cache line): count, sum, min, max, last ts,
 * last value, and the group's newest entry (the head of its chain).
 */
const ACC = 8;
const [COUNT, SUM, MIN, MAX, LAST_TS, LAST_VALUE, HEAD] = [0, 1, 2, 3, 4, 5, 6];

export class GroupTable {
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

  /** The group of (tenant, series, bucket), or −1 when there is none. */
  find(t: number, lo: number, hi: number, bucket: number): number {
    const slots = this.#slots;
    const b = bucket | 0;
    let h = hashKey(lo, hi, b, t) & this.#mask;
    for (;;) {
      const at = h * SLOT;
      const g = slots[at + 3];
      if (g < 0) return -1;
      if (
        slots[at] === (lo | 0) && slots[at + 1] === (hi | 0) && slots[at + 2] === b && this.#tenantIx[g] === t
      ) return g;
      h = (h + 1) & this.#mask;
    }
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
    this.reset(g);
    this.#acc[g * ACC + HEAD] = -1;
    return g;
  }

  /** Empties group `g`'s accumulators (its chain of entries stays). */
  reset(g: number): void {
    const acc = this.#acc;
    const a = g * ACC;
    acc[a + COUNT] = 0;
    acc[a + SUM] = 0;
    acc[a + MIN] = Infinity;
    acc[a + MAX] = -Infinity;
    acc[a + LAST_TS] = -Infinity;
    acc[a + LAST_VALUE] = NaN;
  }

  /** The greatest timestamp added to group `g`; −Infinity when none. */
  newest(g: number): number {
    return this.#acc[g * ACC + LAST_TS];
  }

  head(g: number): number {
    return this.#acc[g * ACC + HEAD];
  }

  /** Makes `entry` the head of group `g`'s chain; returns the previous head. */
  chain(g: number, entry: number): number {
    const a = g * ACC + HEAD;
    const previous = this.#acc[a];
    this.#acc[a] = entry;
    return previous;
  }

  add(g: number, ts: number, v: number): void {
    const acc = this.#acc;
    const a = g * ACC;
    const count = ++acc[a + COUNT];
    acc[a + SUM] += v;
    const min = acc[a + MIN];
    const max = acc[a + MAX];
    // Equal values differ only as ±0, which Math.min/max order: −0 below +0, in any order.
    if (v < min || (v === min && 1 / v < 0)) acc[a + MIN] = v;
    if (v > max || (v === max && 1 / v > 0)) acc[a + MAX] = v;
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
    const min = from.min[f];
    const max = from.max[f];
    if (min < acc[a + MIN] || (min === acc[a + MIN] && 1 / min < 0)) acc[a + MIN] = min;
    if (max > acc[a + MAX] || (max === acc[a + MAX] && 1 / max > 0)) acc[a + MAX] = max;
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
    // Every word −1: the group word marks a free slot, the others are written on use.
    const slots = new Int32Array(size * SLOT).fill(-1);
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
