/**
 * The PromQL functions Lookout evaluates. Range functions live in range-functions.ts;
 * element-wise functions of an instant vector are here; `histogram_quantile`,
 * `scalar`, `vector`, `time`, `sort` and `sort_desc` are evaluated by the engine
 * itself. Any other function name parses but is answered `422` naming it.
 */
import { RANGE_FUNCTIONS } from "./range-functions.ts";

/** Element-wise functions: value → value, extra scalar arguments after the vector. */
export const ELEMENTWISE: Readonly<Record<string, (v: number, args: number[]) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: Math.sign,
  round: (v, [to = 1]) => Math.floor(v * (1 / to) + 0.5) / (1 / to),
  clamp: (v, [min, max]) => (min > max ? NaN : Math.max(min, Math.min(max, v))),
  clamp_min: (v, [min]) => Math.max(min, v),
  clamp_max: (v, [max]) => Math.min(max, v),
};

/** Element-wise functions that may drop every series (clamp with min > max). */
export const DROPS_ON_NAN: ReadonlySet<string> = new Set(["clamp"]);

export const ENGINE_FUNCTIONS: ReadonlySet<string> = new Set([
  "histogram_quantile",
  "scalar",
  "vector",
  "time",
  "sort",
  "sort_desc",
]);

export function isSupportedFunction(name: string): boolean {
  return Object.hasOwn(RANGE_FUNCTIONS, name) || Object.hasOwn(ELEMENTWISE, name) ||
    ENGINE_FUNCTIONS.has(name);
}
