/**
 * Sketch entries (group, key, count) regrouped per group with keys ascending and each
 * key once, its counts added: the layout of a `sumMap` sketch state, so ClickHouse stores
 * what its own `sumMap` would have produced.
 *
 * A counting sort places entries by group in O(n); the few keys of a group are then
 * sorted in place (insertion sort for short runs, a packed numeric sort for long ones).
 *
 * @example
 * const { ends, keys, counts } = sortedSketchEntries(group, key, undefined, n, groups);
 * // group g: keys[ends[g - 1] .. ends[g]) with their counts
 */

export interface SketchEntries {
  readonly ends: Uint32Array;
  readonly keys: Int32Array;
  readonly counts: Float64Array;
}

/** Above this many entries a group's keys are sorted with a typed-array sort. */
const SHORT_RUN = 24;
/** Keys are within ±2^16 (MAX_KEY is about 36,500), so key + 2^16 packs above a 32-bit position. */
const KEY_BIAS = 65_536;
const POSITION = 2 ** 32;

/** `counts` undefined means every entry counts once. */
export function sortedSketchEntries(
  entryGroup: Int32Array,
  entryKey: Int32Array,
  entryCount: Float64Array | undefined,
  n: number,
  groups: number,
): SketchEntries {
  const starts = new Uint32Array(groups + 1);
  for (let i = 0; i < n; i++) starts[entryGroup[i] + 1]++;
  for (let g = 0; g < groups; g++) starts[g + 1] += starts[g];
  const next = starts.slice(0, groups);
  const keys = new Int32Array(n);
  const counts = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const at = next[entryGroup[i]]++;
    keys[at] = entryKey[i];
    counts[at] = entryCount === undefined ? 1 : entryCount[i];
  }
  const ends = new Uint32Array(groups);
  let out = 0;
  for (let g = 0; g < groups; g++) {
    const a = starts[g];
    const z = starts[g + 1];
    if (z - a > SHORT_RUN) sortLongRun(keys, counts, a, z);
    else sortShortRun(keys, counts, a, z);
    for (let i = a; i < z; i++) {
      if (out > 0 && i > a && keys[i] === keys[out - 1]) counts[out - 1] += counts[i];
      else {
        keys[out] = keys[i];
        counts[out] = counts[i];
        out++;
      }
    }
    ends[g] = out;
  }
  return { ends, keys, counts };
}

function sortShortRun(keys: Int32Array, counts: Float64Array, a: number, z: number): void {
  for (let i = a + 1; i < z; i++) {
    const k = keys[i];
    const c = counts[i];
    let j = i - 1;
    while (j >= a && keys[j] > k) {
      keys[j + 1] = keys[j];
      counts[j + 1] = counts[j];
      j--;
    }
    keys[j + 1] = k;
    counts[j + 1] = c;
  }
}

function sortLongRun(keys: Int32Array, counts: Float64Array, a: number, z: number): void {
  const packed = new Float64Array(z - a);
  for (let i = a; i < z; i++) packed[i - a] = (keys[i] + KEY_BIAS) * POSITION + (i - a);
  packed.sort();
  const sortedCounts = new Float64Array(z - a);
  for (let j = 0; j < packed.length; j++) {
    const p = packed[j];
    const from = p % POSITION;
    sortedCounts[j] = counts[a + from];
    keys[a + j] = (p - from) / POSITION - KEY_BIAS;
  }
  counts.set(sortedCounts, a);
}
