/**
 * The dashboard query: one metric, label filters, an aggregation per step bucket and
 * group, answered from raw samples or from the 1m/1h rollups as `route` decides.
 *
 * Groups: with `by`, one series per distinct combination of those labels (an empty
 * `by` aggregates everything into one series); without `by`, one series per stored
 * series. NaN samples (and Prometheus stale markers) are ignored by every aggregate,
 * as in the rollups. Percentiles from raw are exact order statistics at rank
 * ⌊q·(n−1)⌋; from rollups they are the sketch's, within its relative error of 1%.
 *
 * The tenant predicate is always added here from the caller's identity; nothing in
 * the query body can name a tenant.
 */
import { LimitExceeded, ValidationError } from "../domain/errors.ts";
import { isValidLabelName, isValidMetricName } from "../domain/label-rules.ts";
import { PERCENTILES } from "../domain/log-sketch.ts";
import type { AnalyticsStore, QueryParams } from "../domain/ports/analytics-store.ts";
import { type Resolution, type Route, route, type RouteContext, type Tier } from "./resolution.ts";
import { sketchQuantileSql } from "./sketch-sql.ts";

export const AGGREGATIONS = [
  "avg",
  "sum",
  "min",
  "max",
  "count",
  "last",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
export type Aggregation = typeof AGGREGATIONS[number];

export interface SampleQuery {
  readonly metric: string;
  readonly filters: Readonly<Record<string, string>>;
  readonly agg: Aggregation;
  readonly by?: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly resolution: Resolution;
}

export type PointValue = number | "NaN" | "+Inf" | "-Inf";

export interface QueryResult {
  readonly resolution: Tier;
  readonly step: number;
  readonly stitched?: { readonly resolution: "raw"; readonly from: number };
  readonly series: { labels: Record<string, string>; points: [number, PointValue][] }[];
}

export interface QueryLimits {
  readonly maxPointsPerSeries: number;
  readonly maxSeries: number;
  readonly maxExecutionSeconds: number;
}

export const defaultQueryLimits: QueryLimits = {
  maxPointsPerSeries: 11_000,
  maxSeries: 10_000,
  maxExecutionSeconds: 30,
};

const QUANTILE: Record<string, number> = {
  p50: PERCENTILES[0],
  p90: PERCENTILES[1],
  p95: PERCENTILES[2],
  p99: PERCENTILES[3],
};

function rawAggregate(agg: Aggregation): string {
  switch (agg) {
    case "avg":
      return "avg(value)";
    case "sum":
      return "sum(value)";
    case "min":
      return "min(value)";
    case "max":
      return "max(value)";
    case "count":
      return "toFloat64(count())";
    case "last":
      return "argMax(value, (ts, value))";
    case "p50":
    case "p90":
    case "p95":
    case "p99":
      return `arraySort(groupArray(value))[toUInt64(floor(${QUANTILE[agg]} * (count() - 1))) + 1]`;
    default: {
      const unknown: never = agg;
      throw new ValidationError(`Cannot run query: unknown aggregation "${unknown}"`);
    }
  }
}

function rollupAggregate(agg: Aggregation): string {
  switch (agg) {
    case "avg":
      return "sum(r.sum) / sum(r.count)";
    case "sum":
      return "sum(r.sum)";
    case "min":
      return "min(r.min)";
    case "max":
      return "max(r.max)";
    case "count":
      return "toFloat64(sum(r.count))";
    case "last":
      return "argMaxMerge(r.last)";
    case "p50":
    case "p90":
    case "p95":
    case "p99":
      return sketchQuantileSql("sumMap(r.sketch)", QUANTILE[agg]);
    default: {
      const unknown: never = agg;
      throw new ValidationError(`Cannot run query: unknown aggregation "${unknown}"`);
    }
  }
}

function validate(q: SampleQuery): void {
  if (!isValidMetricName(q.metric)) {
    throw new ValidationError(`Cannot run query: "${q.metric}" is not a metric name`);
  }
  for (const name of [...Object.keys(q.filters), ...(q.by ?? [])]) {
    if (!isValidLabelName(name)) throw new ValidationError(`Cannot run query: "${name}" is not a label name`);
  }
}

/** Matching series of the tenant, as a subquery with `series_id` and `labels`. */
function matchedSeries(q: SampleQuery, params: Record<string, unknown>): string {
  const filters = Object.entries(q.filters).map(([name, value], i) => {
    params[`fn${i}`] = name;
    params[`fv${i}`] = value;
    return ` AND labels[{fn${i}:String}] = {fv${i}:String}`;
  }).join("");
  // The alias must not be `labels`: ClickHouse would resolve the filters to the aggregate.
  return `(SELECT series_id, any(labels) AS series_labels FROM series
    WHERE tenant = {tenant:String} AND metric = {metric:String}${filters} GROUP BY series_id)`;
}

function groupColumns(q: SampleQuery, params: Record<string, unknown>): { select: string; names: string[] } {
  if (q.by === undefined) {
    return { select: "toString(m.series_id) AS g_id, any(m.series_labels) AS g_labels", names: [] };
  }
  const names = [...q.by];
  const select = names.map((name, i) => {
    params[`by${i}`] = name;
    return `m.series_labels[{by${i}:String}] AS g${i}`;
  });
  return { select: select.length > 0 ? select.join(", ") : "1 AS g_all", names };
}

function tierSql(
  q: SampleQuery,
  tier: Tier,
  from: number,
  to: number,
  params: Record<string, unknown>,
): string {
  const group = groupColumns(q, params);
  const groupBy = q.by === undefined
    ? "m.series_id"
    : q.by.length === 0
    ? "g_all"
    : q.by.map((_, i) => `g${i}`).join(", ");
  const matched = matchedSeries(q, params);
  const range = `{${tier}From:Int64}`;
  params[`${tier}From`] = from;
  params[`${tier}To`] = to;
  if (tier === "raw") {
    return `SELECT ${group.select}, intDiv(toUnixTimestamp64Milli(r.ts), {step:Int64}) * {step:Int64} AS t,
        ${rawAggregate(q.agg)} AS v
      FROM samples AS r INNER JOIN ${matched} AS m ON r.series_id = m.series_id
      WHERE r.tenant = {tenant:String} AND r.series_id IN (SELECT series_id FROM ${matched})
        AND r.ts >= fromUnixTimestamp64Milli(${range}) AND r.ts < fromUnixTimestamp64Milli({rawTo:Int64})
        AND NOT isNaN(r.value)
      GROUP BY ${groupBy}, t`;
  }
  const table = tier === "1m" ? "rollup_1m" : "rollup_1h";
  return `SELECT ${group.select}, intDiv(toUnixTimestamp(r.bucket) * 1000, {step:Int64}) * {step:Int64} AS t,
      ${rollupAggregate(q.agg)} AS v
    FROM ${table} AS r INNER JOIN ${matched} AS m ON r.series_id = m.series_id
    WHERE r.tenant = {tenant:String} AND r.series_id IN (SELECT series_id FROM ${matched})
      AND r.bucket >= toDateTime(intDiv(${range}, 1000)) AND r.bucket < toDateTime(intDiv({${tier}To:Int64}, 1000))
    GROUP BY ${groupBy}, t`;
}

interface Row {
  readonly g_id?: string;
  readonly g_labels?: Record<string, string>;
  readonly t: string | number;
  readonly v: number | string;
  readonly [group: string]: unknown;
}

export async function runSampleQuery(
  store: AnalyticsStore,
  tenant: string,
  q: SampleQuery,
  ctx: RouteContext,
  limits: QueryLimits = defaultQueryLimits,
): Promise<QueryResult> {
  validate(q);
  const plan: Route = route(q, ctx);
  const points = Math.ceil((plan.to - plan.from) / plan.step);
  if (points > limits.maxPointsPerSeries) {
    throw new LimitExceeded(
      `Cannot run query: ${points} points per series at step ${plan.step} ms, over the limit of ${limits.maxPointsPerSeries}; use a larger step`,
    );
  }
  const params: QueryParams = { tenant, metric: q.metric, step: plan.step };
  const parts: string[] = [];
  const rollupTo = plan.rawFrom ?? plan.to;
  if (plan.tier !== "raw" && rollupTo > plan.from) {
    parts.push(tierSql(q, plan.tier, plan.from, rollupTo, params));
  }
  if (plan.tier === "raw" || plan.rawFrom !== undefined) {
    params.rawTo = plan.to;
    parts.push(tierSql(q, "raw", plan.tier === "raw" ? plan.from : plan.rawFrom!, plan.to, params));
  }
  const rows = await store.query<Row>(`SELECT * FROM (${parts.join("\nUNION ALL\n")}) ORDER BY t`, params, {
    output_format_json_quote_denormals: 1,
    max_execution_time: limits.maxExecutionSeconds,
  });
  const groups = new Map<string, { labels: Record<string, string>; points: [number, PointValue][] }>();
  for (const row of rows) {
    const key = groupKey(q, row);
    let group = groups.get(key);
    if (!group) {
      if (groups.size >= limits.maxSeries) {
        throw new LimitExceeded(
          `Cannot run query: more than ${limits.maxSeries} series match; add filters or group by fewer labels`,
        );
      }
      group = { labels: groupLabels(q, row), points: [] };
      groups.set(key, group);
    }
    group.points.push([Number(row.t), pointValue(row.v)]);
  }
  return {
    resolution: plan.tier,
    step: plan.step,
    ...(plan.rawFrom !== undefined ? { stitched: { resolution: "raw" as const, from: plan.rawFrom } } : {}),
    series: [...groups.values()],
  };
}

function groupKey(q: SampleQuery, row: Row): string {
  if (q.by === undefined) return row.g_id!;
  return q.by.map((_, i) => row[`g${i}`]).join("\u0000");
}

function groupLabels(q: SampleQuery, row: Row): Record<string, string> {
  if (q.by === undefined) return { __name__: q.metric, ...row.g_labels };
  const labels: Record<string, string> = {};
  q.by.forEach((name, i) => {
    const value = row[`g${i}`] as string;
    if (value !== "") labels[name] = value;
  });
  return labels;
}

function pointValue(v: number | string): PointValue {
  if (typeof v === "number") return v;
  if (v === "nan" || v === "-nan") return "NaN";
  if (v === "inf" || v === "+inf") return "+Inf";
  if (v === "-inf") return "-Inf";
  return Number(v);
}
