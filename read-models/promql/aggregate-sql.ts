/**
 * `sum|avg|min|max|count|group by (…) (selector)` evaluated inside ClickHouse, the
 * shape of most dashboard panels, so that only one row per group and step leaves the
 * engine instead of every sample of every series.
 *
 * The instant-selector rule is computed per sample: with `next` the series' following
 * sample, a sample is the value at every step T with t ≤ T < min(next, t + lookback),
 * i.e. the steps k in [⌈(t − start)/step⌉, ⌈(min(next, t + lookback) − start)/step⌉).
 * A stale marker yields no steps and still ends the sample before it. Aggregates follow
 * Prometheus: `sum`/`avg` by Kahan summation (NaN and ±Inf propagate), `min`/`max`
 * ignore NaN unless every value is NaN, `count` counts NaN.
 */
import type { AnalyticsStore, QueryParams } from "../../domain/ports/analytics-store.ts";
import type { Matcher } from "./ast.ts";
import { QUERY_SETTINGS, sampleValue, seriesWhere } from "./selector-sql.ts";
import { newSeries, type StepSeries } from "./values.ts";

export type PushedOp = "sum" | "avg" | "count" | "min" | "max" | "group";
export const PUSHED_OPS: readonly string[] = ["sum", "avg", "count", "min", "max", "group"];

export interface InstantAggregate {
  readonly op: PushedOp;
  readonly by: readonly string[];
  readonly matchers: readonly Matcher[];
  /** First instant (after offset), step and number of steps, in ms. */
  readonly start: number;
  readonly step: number;
  readonly count: number;
  readonly lookbackMs: number;
}

function aggregateSql(op: PushedOp): string {
  switch (op) {
    case "sum":
      return "sumKahan(value)";
    case "avg":
      return "sumKahan(value) / count()";
    case "count":
      return "toFloat64(count())";
    case "group":
      return "toFloat64(1)";
    case "min":
    case "max":
      return `if(countIf(NOT isNaN(value)) = 0, nan, ${op}If(value, NOT isNaN(value)))`;
    default: {
      const unknown: never = op;
      throw new Error(`unknown aggregation ${unknown}`);
    }
  }
}

export async function aggregateInstant(
  store: AnalyticsStore,
  tenant: string,
  request: InstantAggregate,
  settings: Record<string, string | number>,
): Promise<StepSeries[]> {
  const from = request.start - request.lookbackMs;
  const to = request.start + (request.count - 1) * request.step;
  const params: QueryParams = {
    from,
    to,
    start: request.start,
    step: request.step,
    steps: request.count,
    lookback: request.lookbackMs,
  };
  const where = seriesWhere(tenant, request.matchers, from, to, params);
  const groups = request.by.map((name, i) => {
    if (name === "__name__") return `m.name AS g${i}`;
    params[`by${i}`] = name;
    return `m.set[{by${i}:String}] AS g${i}`;
  });
  const rows = await store.query<Record<string, string | number>>(
    `SELECT ${[...groups, "k"].join(", ")}, ${aggregateSql(request.op)} AS v FROM (
       SELECT series_id, value, k FROM (
         SELECT series_id, value, toUnixTimestamp64Milli(ts) AS t,
           leadInFrame(toUnixTimestamp64Milli(ts), 1, toInt64(9e18))
             OVER (PARTITION BY series_id ORDER BY ts ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next,
           bitAnd(reinterpretAsUInt64(value), 0xfff7ffffffffffff) = 0x7ff0000000000002 AS stale
         FROM samples
         WHERE tenant = {tenant:String} AND series_id IN (SELECT series_id FROM series WHERE ${where})
           AND ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
       )
       ARRAY JOIN range(
         toUInt64(greatest(0, toInt64(ceil((t - {start:Int64}) / {step:Int64})))),
         toUInt64(greatest(0, least({steps:Int64}, toInt64(ceil((least(next, t + {lookback:Int64}) - {start:Int64}) / {step:Int64})))))
       ) AS k
       WHERE NOT stale
     ) AS x
     INNER JOIN (SELECT series_id, any(metric) AS name, any(labels) AS set FROM series WHERE ${where}
                 GROUP BY series_id) AS m
       ON x.series_id = m.series_id
     GROUP BY ${[...request.by.map((_, i) => `g${i}`), "k"].join(", ")}`,
    params,
    { ...QUERY_SETTINGS, ...settings },
  );
  const out = new Map<string, StepSeries>();
  for (const row of rows) {
    const labels: Record<string, string> = {};
    request.by.forEach((name, i) => {
      const value = String(row[`g${i}`]);
      if (value !== "") labels[name] = value;
    });
    const key = request.by.map((_, i) => row[`g${i}`]).join("\u0000");
    let series = out.get(key);
    if (!series) out.set(key, series = newSeries(labels, request.count));
    const k = Number(row.k);
    series.values[k] = sampleValue(row.v);
    series.present[k] = 1;
  }
  return [...out.values()];
}
