/**
 * The 1h tier packed by day: for every closed day, one row per series and day in
 * `rollup_1h_days` holding that day's 24 hourly buckets as arrays (count, sum, min, max),
 * so a range of N days reads N rows per series instead of 24·N. `rollup_1h` keeps every
 * bucket; the packed rows are a second, read-optimised copy of its closed days.
 *
 * A day is packed for a tenant once no sample of that day can still change its buckets:
 * the rollup projection's watermark for the tenant has passed the day's end in every
 * partition of the log (a later sample of that day is late, kept in `late_samples` and
 * out of both tiers). The watermarks are read from the projection's journal: per
 * partition the state after its newest journaled batch once that batch is committed,
 * the state before it otherwise, so a batch still being written cannot add to a day
 * judged closed. `rollup_1h_compacted` records per tenant the day up to which rows are
 * packed; queries read packed rows before it and `rollup_1h` from it on.
 *
 * Packing a range again (a crash between its rows and its mark, two compactors) writes
 * the same rows again; the table keeps one per series and day (ReplacingMergeTree, read
 * with FINAL).
 *
 * @example
 * const through = closedThrough(states, partitions);   // tenant → first day not closed
 * await store.command(packSql(range), params);          // rows of [from, to) for one tenant
 */
import type { QueryParams } from "../domain/ports/analytics-store.ts";
import type { WatermarkState } from "../domain/watermark.ts";
import type { Aggregation } from "./sample-query.ts";

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The aggregations the packed rows answer; the others read `rollup_1h`. */
export const PACKED_AGGREGATIONS: ReadonlySet<Aggregation> = new Set(["avg", "sum", "min", "max", "count"]);

export function rollupDaysTables(retentionDays: number): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS rollup_1h_days (
      tenant LowCardinality(String),
      series_id UInt64,
      day Date,
      count Array(UInt64),
      sum Array(Float64),
      min Array(Float64),
      max Array(Float64),
      packed DateTime64(3)
    ) ENGINE = ReplacingMergeTree(packed)
    PARTITION BY toYYYYMM(day)
    ORDER BY (tenant, series_id, day)
    TTL day + INTERVAL ${retentionDays} DAY`,
    `CREATE TABLE IF NOT EXISTS rollup_1h_compacted (
      tenant LowCardinality(String),
      through Date,
      packed DateTime64(3)
    ) ENGINE = ReplacingMergeTree(packed)
    ORDER BY tenant`,
  ];
}

/**
 * Per tenant, the start (ms, midnight UTC) of the first day not closed in every
 * partition: days before it are closed. A tenant some partition has not seen is left
 * out, as a sample of it may still arrive there with any timestamp.
 */
export function closedThrough(
  states: readonly ReadonlyMap<string, WatermarkState>[],
  partitions: number,
): Map<string, number> {
  const through = new Map<string, number>();
  if (states.length < partitions) return through;
  const [first, ...rest] = states;
  for (const [tenant, state] of first) {
    let watermark = state.watermark;
    for (const other of rest) watermark = Math.min(watermark, other.get(tenant)?.watermark ?? -Infinity);
    if (Number.isFinite(watermark)) through.set(tenant, Math.floor(watermark / DAY_MS) * DAY_MS);
  }
  return through;
}

/**
 * The statement that packs one tenant's buckets of [from, to) (whole days, ms), merged
 * across their partial rows, into `rollup_1h_days`; parameters `tenant`, `from`, `to`, `packed`.
 */
export const PACK_SQL = `INSERT INTO rollup_1h_days (tenant, series_id, day, count, sum, min, max, packed)
  SELECT {tenant:String}, series_id, toDate(bucket, 'UTC') AS day,
    groupArrayInsertAt(toUInt64(0), 24)(c, toHour(bucket, 'UTC')),
    groupArrayInsertAt(toFloat64(0), 24)(s, toHour(bucket, 'UTC')),
    groupArrayInsertAt(inf, 24)(lo, toHour(bucket, 'UTC')),
    groupArrayInsertAt(-inf, 24)(hi, toHour(bucket, 'UTC')),
    fromUnixTimestamp64Milli({packed:Int64})
  FROM (
    SELECT series_id, bucket, sum(count) AS c, sum(sum) AS s, min(min) AS lo, max(max) AS hi
    FROM rollup_1h
    WHERE tenant = {tenant:String}
      AND bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))
    GROUP BY series_id, bucket
  )
  GROUP BY series_id, day`;

export const MARK_SQL = `INSERT INTO rollup_1h_compacted (tenant, through, packed)
  VALUES ({tenant:String}, toDate(toDateTime(intDiv({through:Int64}, 1000), 'UTC')), fromUnixTimestamp64Milli({packed:Int64}))`;

/** A tenant's oldest 1h bucket (ms), null without any. */
export const FIRST_BUCKET_SQL =
  `SELECT if(count() = 0, NULL, toInt64(toUnixTimestamp(min(bucket))) * 1000) AS first
  FROM rollup_1h WHERE tenant = {tenant:String}`;

/** A tenant's packed-through day as ms, over its rows of `rollup_1h_compacted`. */
const THROUGH_MS = "toInt64(toUnixTimestamp(toDateTime(max(through), 'UTC'))) * 1000";

/** Per tenant, the day (ms) up to which rows are packed. */
export const MARKS_SQL = `SELECT tenant, ${THROUGH_MS} AS through FROM rollup_1h_compacted GROUP BY tenant`;

/**
 * The step-aligned instant (ms) before which a query of `tenant` reads packed rows: the
 * tenant's packed-through day rounded down to the step, as a SQL expression (0 when
 * nothing is packed).
 */
export function packedBoundarySql(tenantParam: string, stepParam: string): string {
  return `intDiv(ifNull((SELECT ${THROUGH_MS} FROM rollup_1h_compacted WHERE tenant = {${tenantParam}:String}), 0),
    {${stepParam}:Int64}) * {${stepParam}:Int64}`;
}

/** What each hour contributes to the aggregate, as (columns packed per day, expression over one hour). */
function packedAggregate(agg: Aggregation): { arrays: string[]; value: string } {
  switch (agg) {
    case "avg":
      return { arrays: ["sum", "count"], value: "sum(h_sum) / sum(h_count)" };
    case "sum":
      return { arrays: ["sum", "count"], value: "sum(h_sum)" };
    case "count":
      return { arrays: ["count"], value: "toFloat64(sum(h_count))" };
    case "min":
      return { arrays: ["min", "count"], value: "min(h_min)" };
    case "max":
      return { arrays: ["max", "count"], value: "max(h_max)" };
    default:
      throw new Error(`packed rows do not answer ${agg}`);
  }
}

const FOR_EACH: Record<string, string> = {
  count: "sumForEach",
  sum: "sumForEach",
  min: "minForEach",
  max: "maxForEach",
};

/**
 * The packed part of a dashboard query: each selected series' days in range, summed per
 * group and day, then unpacked to hours and aggregated per group and step bucket in
 * [from, before), where `before` is a SQL expression (the packed boundary, capped by the
 * caller). Rows carry `gi`, `g`, `t`, `v` as the other tiers' parts do.
 */
export function packedPartSql(options: {
  readonly agg: Aggregation;
  /** Expression of a series' group number over `column`, and of the row's group label over `gi`. */
  readonly group: (column: string) => string;
  readonly label: (group: string) => string;
  readonly filter: (column: string) => string;
  readonly before: string;
  readonly params: QueryParams;
  readonly from: number;
}): string {
  const { agg, params } = options;
  params.packedFrom = options.from;
  const { arrays, value } = packedAggregate(agg);
  const merged = arrays.map((a) => `${FOR_EACH[a]}(r.${a}) AS d_${a}`).join(", ");
  const unpacked = arrays.map((a) => `d_${a} AS h_${a}`).join(", ");
  return `SELECT gi, ${
    options.label("gi")
  } AS g, intDiv(hour, {step:Int64}) * {step:Int64} AS t, ${value} AS v
    FROM (
      SELECT ${options.group("r.series_id")} AS gi, r.day AS day, ${merged}
      FROM rollup_1h_days AS r FINAL
      WHERE r.tenant = {tenant:String} AND ${options.filter("r.series_id")}
        AND r.day >= toDate(toDateTime(intDiv({packedFrom:Int64}, 1000), 'UTC'))
        AND r.day < toDate(toDateTime(intDiv(${options.before}, 1000), 'UTC')) + 1
      GROUP BY gi, day
    )
    ARRAY JOIN ${unpacked}, arrayMap(i -> toInt64(day) * ${DAY_MS} + i * ${HOUR_MS}, range(24)) AS hour
    WHERE h_count > 0 AND hour >= {packedFrom:Int64} AND hour < ${options.before}
    GROUP BY gi, t`;
}
