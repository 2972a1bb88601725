/**
 * The quantile walk of `domain/log-sketch.ts` in ClickHouse SQL, over merged `sumMap`
 * sketch states at query time. The keys are computed at insert by the rollup projection
 * with `logSketchKey`, so stored sketches and in-process ones hold the same keys.
 */
import { GAMMA, OFFSET } from "../domain/log-sketch.ts";

const HALF_GAMMA_PLUS_ONE = (GAMMA + 1) / 2;

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
