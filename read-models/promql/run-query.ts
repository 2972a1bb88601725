/**
 * The two PromQL entry points of the Prometheus API: an instant query at one time and
 * a range query over `start`, `start + step`, … ≤ `end` (Prometheus does not align
 * `start` to the step; clients such as Grafana align it themselves). Results are
 * Prometheus' shapes: `vector`, `matrix`, `scalar` or `string`, with timestamps in
 * seconds and values as strings (`"NaN"`, `"+Inf"`).
 *
 * @example
 * await rangeQuery(source, 'sum(rate(x[5m]))', { start, end, step }, limits);
 * // → { resultType: "matrix", result: [{ metric: {}, values: [[1700000000, "0.5"], …] }] }
 */
import { LimitExceeded, Unsupported, ValidationError } from "../../domain/errors.ts";
import type { Expr } from "./ast.ts";
import { DEFAULT_LOOKBACK_MS, Evaluator, type SampleSource } from "./evaluate.ts";
import { parsePromql } from "./parse.ts";
import { gridOf, type Labels, labelsKey, type StepSeries, type Value } from "./values.ts";

export interface QueryShapeLimits {
  /** Steps of a range query. */
  readonly maxPoints: number;
  /** Series in one answer. */
  readonly maxSeries: number;
}

export type SampleJson = [number, string];

export type QueryData =
  | { resultType: "vector"; result: { metric: Labels; value: SampleJson }[] }
  | { resultType: "matrix"; result: { metric: Labels; values: SampleJson[] }[] }
  | { resultType: "scalar"; result: SampleJson }
  | { resultType: "string"; result: SampleJson };

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export async function instantQuery(
  source: SampleSource,
  text: string,
  time: number,
  limits: QueryShapeLimits,
  lookbackMs = DEFAULT_LOOKBACK_MS,
  parse: (text: string) => Expr = parsePromql,
): Promise<QueryData> {
  const expr = parse(text);
  if (expr.type === "matrix") return await rawMatrix(source, expr, time, limits);
  const grid = gridOf(time, time, 1);
  const value = await new Evaluator(grid, { source, lookbackMs }).eval(expr);
  const ts = time / 1000;
  switch (value.kind) {
    case "scalar":
      return { resultType: "scalar", result: [ts, formatValue(value.values[0])] };
    case "string":
      return { resultType: "string", result: [ts, value.value] };
    case "vector": {
      const series = merged(value.series, limits).filter((s) => s.present[0] === 1);
      return {
        resultType: "vector",
        result: series.map((s) => ({ metric: s.labels, value: [ts, formatValue(s.values[0])] })),
      };
    }
    default: {
      const unknown: never = value;
      throw new Error(`unknown value ${JSON.stringify(unknown)}`);
    }
  }
}

export async function rangeQuery(
  source: SampleSource,
  text: string,
  range: { start: number; end: number; step: number },
  limits: QueryShapeLimits,
  lookbackMs = DEFAULT_LOOKBACK_MS,
  parse: (text: string) => Expr = parsePromql,
): Promise<QueryData> {
  if (!(range.step > 0)) throw new ValidationError("Cannot run the query: step must be positive");
  if (range.end < range.start) throw new ValidationError("Cannot run the query: end is before start");
  const grid = gridOf(range.start, range.end, range.step);
  if (grid.count > limits.maxPoints) {
    throw new ValidationError(
      `Cannot run the query: ${grid.count} points per series is over the maximum resolution of ${limits.maxPoints}; increase the step`,
    );
  }
  const expr = parse(text);
  if (
    expr.type !== "number" && expr.type !== "call" && expr.type !== "aggregate" && expr.type !== "binary" &&
    expr.type !== "unary" && expr.type !== "vector"
  ) {
    throw new ValidationError(
      `Cannot run the query: a range query needs an instant vector or scalar expression, got ${expr.type}`,
    );
  }
  const value: Value = await new Evaluator(grid, { source, lookbackMs }).eval(expr);
  const times = Array.from({ length: grid.count }, (_, i) => (grid.start + i * grid.step) / 1000);
  if (value.kind === "string") {
    throw new ValidationError("Cannot run the query: a range query cannot return a string");
  }
  const series: StepSeries[] = value.kind === "scalar"
    ? [{ labels: {}, values: value.values, present: new Uint8Array(grid.count).fill(1) }]
    : merged(value.series, limits);
  const result = series.map((s) => {
    const values: SampleJson[] = [];
    for (let i = 0; i < grid.count; i++) {
      if (s.present[i] === 1) values.push([times[i], formatValue(s.values[i])]);
    }
    return { metric: s.labels, values };
  }).filter((s) => s.values.length > 0);
  result.sort((a, b) => (labelsKey(a.metric) < labelsKey(b.metric) ? -1 : 1));
  return { resultType: "matrix", result };
}

/** `x[5m]` as an instant query: the raw samples of each series in the range. */
async function rawMatrix(
  source: SampleSource,
  expr: Extract<Expr, { type: "matrix" }>,
  time: number,
  limits: QueryShapeLimits,
): Promise<QueryData> {
  const at = expr.selector.at === undefined || typeof expr.selector.at !== "number" ? time : expr.selector.at;
  const end = at - expr.selector.offsetMs;
  const raw = await source.select(expr.selector.matchers, end - expr.rangeMs, end);
  if (raw.length > limits.maxSeries) throw tooManySeries(limits);
  const result = raw.map((r) => {
    const values: SampleJson[] = [];
    r.t.forEach((t, i) => {
      if (r.stale[i] === 0) values.push([t / 1000, formatValue(r.v[i])]);
    });
    return { metric: r.labels, values };
  }).filter((s) => s.values.length > 0);
  return { resultType: "matrix", result };
}

/**
 * Joins series with equal labels (an `or`, or names dropped by a function); two of
 * them with a value at the same step is the error Prometheus reports too.
 */
function merged(series: readonly StepSeries[], limits: QueryShapeLimits): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  for (const s of series) {
    if (!s.present.includes(1)) continue;
    const key = labelsKey(s.labels);
    const existing = byKey.get(key);
    if (!existing) {
      if (byKey.size >= limits.maxSeries) throw tooManySeries(limits);
      byKey.set(key, s);
      continue;
    }
    for (let i = 0; i < s.present.length; i++) {
      if (s.present[i] !== 1) continue;
      if (existing.present[i] === 1) {
        throw new Unsupported(
          `Cannot run the query: vector cannot contain metrics with the same labelset ${
            key.replaceAll("\u0000", "=").replaceAll("\u0001", ",")
          }`,
        );
      }
      existing.values[i] = s.values[i];
      existing.present[i] = 1;
    }
  }
  return [...byKey.values()];
}

function tooManySeries(limits: QueryShapeLimits): LimitExceeded {
  return new LimitExceeded(`Cannot run the query: the answer has more than ${limits.maxSeries} series`);
}
