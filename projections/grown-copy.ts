/**
 * A copy of a typed array in a larger one of the same kind, for columns that grow as a
 * batch's records are added.
 *
 * @example
 * values = grownCopy(values, 2 * values.length);
 */
export function grownCopy<T extends Uint16Array | Uint32Array | Int32Array | Float64Array>(
  array: T,
  size: number,
): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}
