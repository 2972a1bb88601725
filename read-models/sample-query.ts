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
import { LimitExceeded, Unavailable, ValidationError } from "../domain/errors.ts";
import { isValidLabelName, isValidMetricName } from "../domain/label-rules.ts";
import { PERCENTILES } from "../domain/log-sketch.ts";
import type { AnalyticsStore, QueryParams } from "../domain/ports/analytics-store.ts";
import { type Resolution, type Route, route, type RouteContext, type Tier } from "./resolution.ts";
import { sketchQuantileSql } from "./sketch-sql.ts";
import type { SeriesCatalog } from "../domain/ports/series-catalog.ts";
import type { Matcher } from "./promql/ast.ts";
import { matchedSeries } from "./promql/matched-series.ts";
import {
  filteredScope,
  namedScope,
  type SeriesScope,
  WIDE_SERIES,
  withClause,
} from "./promql/series-scope.ts";
import { QUERY_SETTINGS, sampleValue } from "./promql/selector-sql.ts";
import {
  DAY_MS,
  PACKED_AGGREGATIONS,
  PACKED_REPLACED,
  type PackedDay,
  packedPartSql,
  packedThrough,
  unpackedPoints,
} from "./rollup-days.ts";
import type { PackedMarks } from "./packed-marks.ts";
import type { RecentSamples } from "./recent-samples.ts";
import { recentTail } from "./recent-tail.ts";

/** Series one query may look up before its groups are counted against `maxSeries`. */
const MAX_MATCHED_SERIES = 1_000_000;

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

export function rollupAggregate(agg: Aggregation): string {
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

/** The query's metric and filters as PromQL matchers, for the series lookup. */
function matchersOf(q: SampleQuery): Matcher[] {
  return [
    { name: "__name__", type: "=", value: q.metric },
    ...Object.entries(q.filters).map(([name, value]) => ({ name, type: "=" as const, value })),
  ];
}

/**
 * One tier's statement: rows of the selected series in [from, to), each mapped to its
 * group by the scope, aggregated per group and step bucket.
 */
function tierSql(
  q: SampleQuery,
  tier: Tier,
  from: number,
  to: number,
  scope: SeriesScope,
  params: Record<string, unknown>,
): string {
  params[`${tier}From`] = from;
  params[`${tier}To`] = to;
  const group = `${scope.group("r.series_id")} AS gi, ${scope.label("gi")} AS g`;
  if (tier === "raw") {
    return `SELECT ${group}, intDiv(toUnixTimestamp64Milli(r.ts), {step:Int64}) * {step:Int64} AS t,
        ${rawAggregate(q.agg)} AS v
      FROM samples AS r FINAL
      WHERE r.tenant = {tenant:String} AND ${scope.filter("r.series_id")}
        AND r.ts >= fromUnixTimestamp64Milli({rawFrom:Int64}) AND r.ts < fromUnixTimestamp64Milli({rawTo:Int64})
        AND NOT isNaN(r.value)
      GROUP BY gi, t`;
  }
  const table = tier === "1m" ? "rollup_1m" : "rollup_1h";
  return `SELECT ${group}, intDiv(toUnixTimestamp(r.bucket) * 1000, {step:Int64}) * {step:Int64} AS t,
      ${rollupAggregate(q.agg)} AS v
    FROM ${table} AS r
    WHERE r.tenant = {tenant:String} AND ${scope.filter("r.series_id")}
      AND r.bucket >= toDateTime(intDiv({${tier}From:Int64}, 1000)) AND r.bucket < toDateTime(intDiv({${tier}To:Int64}, 1000))
    GROUP BY gi, t`;
}

interface Row {
  readonly g: unknown;
  readonly t: string | number;
  readonly v: number | string;
}

/** What answers a query besides the store, where this process holds it. */
export interface QuerySources {
  /** Resolves the query's series; the `series` table answers what it hands back. */
  readonly catalog?: SeriesCatalog;
  /** Answers the raw part when it holds every sample of the tenant in its range. */
  readonly head?: RecentSamples;
  /** The tenants' packed-through marks as this process last read them; read per query without. */
  readonly marks?: PackedMarks;
}

export async function runSampleQuery(
  store: AnalyticsStore,
  tenant: string,
  q: SampleQuery,
  ctx: RouteContext,
  limits: QueryLimits = defaultQueryLimits,
  { catalog, head, marks }: QuerySources = {},
): Promise<QueryResult> {
  validate(q);
  const plan: Route = route(q, ctx);
  const points = Math.ceil((plan.to - plan.from) / plan.step);
  if (points > limits.maxPointsPerSeries) {
    throw new LimitExceeded(
      `Cannot run query: ${points} points per series at step ${plan.step} ms, over the limit of ${limits.maxPointsPerSeries}; use a larger step`,
    );
  }
  const settings = { ...QUERY_SETTINGS, max_execution_time: limits.maxExecutionSeconds };
  const rollupTo = plan.rawFrom ?? plan.to;
  const rollups = plan.tier !== "raw" && rollupTo > plan.from;
  // Closed hours of the 1h tier come from their packed rows, up to the tenant's mark
  // rounded down to the step (a step bucket is never split); the 1h buckets from there.
  // The mark is read while the series are looked up; a statement reading packed rows
  // fails if a rebuild has taken the mark back since.
  const packed = rollups && plan.tier === "1h" && PACKED_AGGREGATIONS.has(q.agg) &&
    plan.from < ctx.now - DAY_MS;
  const markRead = !packed
    ? Promise.resolve(0)
    : marks
    ? marks.get(tenant)
    : packedThrough(store, tenant, settings);
  markRead.catch(() => {});
  // Series seen in the range; the lookup asks only for the labels the groups need. With
  // groups, a selection past WIDE_SERIES is not read out of the series table: its filter
  // goes into the statement.
  const matched = await matchedSeries(store, tenant, matchersOf(q), plan.from, plan.to, {
    cap: q.by === undefined ? MAX_MATCHED_SERIES : WIDE_SERIES + 1,
    listCap: MAX_MATCHED_SERIES,
    labels: q.by,
    settings,
    catalog,
  });
  if (matched.total === 0) return result(plan, []);
  const params: QueryParams = { tenant, step: plan.step };
  const scope = q.by !== undefined && matched.ids.length < matched.total
    ? filteredScope({ tenant, matchers: matchersOf(q), from: plan.from, to: plan.to, by: q.by, params })
    : namedScope(matched, q.by, params);
  const parts: string[] = [];
  let packedRead: Promise<{ g: unknown; t: number; v: number }[]> | undefined;
  if (rollups) {
    const mark = await markRead;
    const boundary = Math.max(plan.from, Math.min(Math.floor(mark / plan.step) * plan.step, rollupTo));
    if (boundary > plan.from) {
      // Its own statement: rows per group and day, unpacked here.
      const packedParams = { ...params };
      const sql = packedPartSql({
        agg: q.agg,
        scope,
        params: packedParams,
        from: plan.from,
        before: boundary,
        mark,
      });
      packedRead = store.query<PackedDay>(`${withClause(scope.with)}${sql}`, packedParams, settings).then(
        (rows) => unpackedPoints(rows, q.agg, { from: plan.from, before: boundary, step: plan.step }),
        (error) => {
          // Other errors echo the statement's text, the check's message with it.
          if (error instanceof Error && error.message.startsWith(PACKED_REPLACED)) {
            marks?.forget(tenant);
            throw new Unavailable(`Cannot run query: ${PACKED_REPLACED}; run it again`);
          }
          throw error;
        },
      );
      packedRead.catch(() => {});
    }
    if (rollupTo > boundary) parts.push(tierSql(q, plan.tier, boundary, rollupTo, scope, params));
  }
  const rawFrom = plan.tier === "raw" ? plan.from : plan.rawFrom;
  // The raw part from the head when it holds the range and the scope names the series;
  // its buckets follow every other part's.
  const fromHead = rawFrom !== undefined && head?.covers(tenant, rawFrom - 1) && scope.groupOf !== undefined
    ? { head, from: rawFrom, groupOf: scope.groupOf }
    : undefined;
  if (rawFrom !== undefined && fromHead === undefined) {
    parts.push(tierSql(q, "raw", rawFrom, plan.to, scope, params));
  }
  const storedRead = parts.length === 0 ? Promise.resolve([]) : store.query<Row>(
    `${withClause(scope.with)}SELECT g, t, v FROM (${parts.join("\nUNION ALL\n")}) ORDER BY t`,
    params,
    settings,
  );
  storedRead.catch(() => {});
  let tail: Row[] | undefined;
  if (fromHead !== undefined) {
    // The engine takes a statement once this turn of the event loop has ended: the
    // head's part is computed while the statements run, not before they start.
    if (packedRead !== undefined || parts.length > 0) await new Promise((resolve) => setTimeout(resolve, 0));
    tail = recentTail(fromHead.head, tenant, {
      ids: matched.ids,
      groupOf: fromHead.groupOf,
      agg: q.agg,
      quantile: QUANTILE[q.agg],
      from: fromHead.from,
      to: plan.to,
      step: plan.step,
    });
  }
  const stored = await storedRead;
  // In time order: the packed part's buckets come before every other part's.
  const rows: readonly Row[] = [...(await packedRead) ?? [], ...stored, ...tail ?? []];
  const series = new Map<number, { labels: Record<string, string>; points: [number, PointValue][] }>();
  for (const row of rows) {
    const g = scope.resolve(row.g);
    let group = series.get(g);
    if (!group) {
      if (series.size >= limits.maxSeries) {
        throw new LimitExceeded(
          `Cannot run query: more than ${limits.maxSeries} series match; add filters or group by fewer labels`,
        );
      }
      group = { labels: scope.groups[g], points: [] };
      series.set(g, group);
    }
    group.points.push([Number(row.t), pointValue(row.v)]);
  }
  return result(plan, [...series.values()]);
}

function result(plan: Route, series: QueryResult["series"]): QueryResult {
  return {
    resolution: plan.tier,
    step: plan.step,
    ...(plan.rawFrom !== undefined ? { stitched: { resolution: "raw" as const, from: plan.rawFrom } } : {}),
    series,
  };
}

function pointValue(v: number | string): PointValue {
  const x = sampleValue(v);
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
}
