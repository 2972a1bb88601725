/**
 * The percentile sketch of `domain/log-sketch.ts` in ClickHouse SQL: the same key for
 * every value at insert, and the same quantile walk over merged `sumMap` states at
 * query time. A test builds both from the same samples and compares them.
 */
import { GAMMA, MAX_KEY, MIN_MAGNITUDE, OFFSET } from "../domain/log-sketch.ts";

const LN_GAMMA = Math.log(GAMMA);
const HALF_GAMMA_PLUS_ONE = (GAMMA + 1) / 2;

/** The Int32 sketch key of the Float64 expression `value`. */
export function sketchKeySql(value: string): string {
  return `toInt32(if(abs(${value}) < ${MIN_MAGNITUDE}, 0, ` +
    `sign(${value}) * least(ceil(log(abs(${value})) / ${LN_GAMMA}) + ${OFFSET}, toFloat64(${MAX_KEY}))))`;
}

/** A one-sample sketch state for `value`, to be summed with `sumMap`. */
export function sketchStateSql(value: string): string {
  return `([${sketchKeySql(value)}], [toUInt64(1)])`;
}

/**
 * The quantile `q` of a merged sketch given as a Tuple(Array(Int32), Array(UInt64))
 * expression sorted by key (what `sumMap` returns). NaN when the sketch is empty.
 */
export function sketchQuantileSql(merged: string, q: number): string {
  const rank = `${q} * (arraySum(${merged}.2) - 1)`;
  const key = `(${merged}.1)[arrayFirstIndex(c -> c > ${rank}, arrayCumSum(${merged}.2))]`;
  return `if(length(${merged}.1) = 0, nan, if(${key} = 0, 0, ` +
    `sign(${key}) * pow(${GAMMA}, abs(${key}) - ${OFFSET}) / ${HALF_GAMMA_PLUS_ONE}))`;
}
