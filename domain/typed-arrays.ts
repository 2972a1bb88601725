/**
 * Small helpers for typed-array columns: growing a column as records are added, and
 * comparing series-id word arrays.
 *
 * @example
 * values = grownCopy(values, 2 * values.length);
 * sameWords(previous.ids, ids); // the same series table
 */
export function grownCopy<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
  array: T,
  size: number,
): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}

/** Whether two word arrays hold the same words in the same order. */
export function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
