/**
 * `sum|avg|min|max|count|group by (…) (selector)` evaluated inside ClickHouse, the
 * shape of most dashboard panels, so that only one row per group and step leaves the
 * engine instead of every sample of every series.
 *
 * The instant-selector rule is computed per sample: with `next` the series' following
 * sample, a sample is the value at every step T with t ≤ T < min(next, t + lookback),
 * i.e. the steps k in [⌈(t − start)/step⌉, ⌈(min(next, t + lookback) − start)/step⌉).
 * A stale marker yields no steps and still ends the sample before it. Aggregates follow
 * Prometheus: `sum`/`avg` by Kahan summation, plain where an infinite value takes part
 * (NaN and ±Inf propagate whatever the order of the rows), `min`/`max`
 * ignore NaN unless every value is NaN, `count` counts NaN.
 */
import type { AnalyticsStore, QueryParams } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import type { Matcher } from "./ast.ts";
import { LimitExceeded } from "../../domain/errors.ts";
import { matchedSeries } from "./matched-series.ts";
import { filteredScope, namedScope, WIDE_SERIES, withClause } from "./series-scope.ts";
import { QUERY_SETTINGS, sampleValue } from "./selector-sql.ts";
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

const KAHAN_BY_SERIES = `if(countIf(isInfinite(value)) > 0, sum(value),
  arrayReduce('sumKahan', arrayMap(x -> x.2, arraySort(groupArray((sid, value))))))`;

function aggregateSql(op: PushedOp): string {
  switch (op) {
    // A float sum depends on the order of its terms, and rows reach an aggregate in no
    // set order: the terms are summed in the order of their series ids, so every run (and
    // the head of recent samples, step-aggregate.ts) gives the same bits. sumKahan's
    // compensation makes ∞ followed by a finite value NaN; with an infinite term the
    // plain sum is exact in any order.
    case "sum":
      return KAHAN_BY_SERIES;
    case "avg":
      return `${KAHAN_BY_SERIES} / count()`;
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
  maxSeries: number,
  catalog?: SeriesCatalog,
): Promise<StepSeries[]> {
  const from = request.start - request.lookbackMs;
  const to = request.start + (request.count - 1) * request.step;
  const own = { ...QUERY_SETTINGS, ...settings };
  const matched = await matchedSeries(store, tenant, request.matchers, from, to, {
    cap: Math.min(maxSeries, WIDE_SERIES) + 1,
    listCap: maxSeries + 1,
    labels: request.by.filter((name) => name !== "__name__"),
    settings: own,
    catalog,
  });
  if (matched.total > maxSeries) {
    throw new LimitExceeded(
      `Cannot run the query: a selector matches more than ${maxSeries} series; add label matchers`,
    );
  }
  if (matched.total === 0) return [];
  const params: QueryParams = {
    tenant,
    from,
    to,
    start: request.start,
    step: request.step,
    steps: request.count,
    lookback: request.lookbackMs,
  };
  const scope = matched.ids.length < matched.total
    ? filteredScope({ tenant, matchers: request.matchers, from, to, by: request.by, params })
    : namedScope(matched, request.by, params);
  // Per series, its samples sorted by time, each paired with the next one's time: a
  // sort of a few hundred values per series where a window function sorted them all.
  const rows = await store.query<{ g: unknown; k: number; v: number | string }>(
    `${withClause(scope.with)}SELECT ${scope.label("gi")} AS g, k, ${aggregateSql(request.op)} AS v
     FROM (
       SELECT gi, sid, p.1.2 AS value, p.1.1 AS t,
         p.2 AS next, bitAnd(reinterpretAsUInt64(value), 0xfff7ffffffffffff) = 0x7ff0000000000002 AS stale
       FROM (
         SELECT ${scope.group("x.series_id")} AS gi, x.series_id AS sid, x.s AS s
         FROM (
           SELECT series_id, arraySort(groupArray((toUnixTimestamp64Milli(ts), value))) AS s FROM samples FINAL
           WHERE tenant = {tenant:String} AND ${scope.filter("series_id")}
             AND ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
           GROUP BY series_id
         ) AS x
       )
       ARRAY JOIN arrayZip(s, arrayPushBack(arrayPopFront(arrayMap(x -> x.1, s)), toInt64(9e18))) AS p
     )
     ARRAY JOIN range(
       toUInt64(greatest(0, toInt64(ceil((t - {start:Int64}) / {step:Int64})))),
       toUInt64(greatest(0, least({steps:Int64}, toInt64(ceil((least(next, t + {lookback:Int64}) - {start:Int64}) / {step:Int64})))))
     ) AS k
     WHERE NOT stale
     GROUP BY gi, k`,
    params,
    own,
  );
  const out: StepSeries[] = [];
  for (const row of rows) {
    const g = scope.resolve(row.g);
    const series = out[g] ??= newSeries(scope.groups[g], request.count);
    const k = Number(row.k);
    series.values[k] = sampleValue(row.v);
    series.present[k] = 1;
  }
  return out.filter((s) => s !== undefined);
}
