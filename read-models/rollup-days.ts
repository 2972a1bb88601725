/**
 * The 1h tier packed by day: one row per series and day in `rollup_1h_by_day` holding that
 * day's 24 hourly buckets as arrays (sum, min, max), which hours have samples (a bitmask)
 * and their sample counts: one number when every such hour has the same count (a series
 * sampled at a fixed interval), an array otherwise. A range of N days reads N rows per
 * series instead of 24·N, and an average over series at a fixed interval sums one
 * array per row, not two. `rollup_1h` keeps every bucket; the packed rows are a
 * second, read-optimised copy of its closed hours. Rows are ordered by day, then series:
 * each packing statement writes a range of days, so its parts overlap no other's but on
 * the day packed part-way, and FINAL merges little more than that day.
 *
 * An hour is packed for a tenant once no sample of it can still change its bucket: the
 * rollup projection's watermark for the tenant has passed the hour's end in every
 * partition of the log (a later sample of that hour is late, kept in `late_samples` and
 * out of both tiers). The watermarks are read from the projection's journal: per
 * partition the state after its newest journaled batch once that batch is committed,
 * the state before it otherwise, so a batch still being written cannot add to an hour
 * judged closed. `rollup_1h_by_day_through` records per tenant the hour up to which rows
 * are packed; queries read packed rows before it and `rollup_1h` from it on, so a
 * dashboard's range up to the last closed hour reads packed rows only. Rows are written
 * before the mark that covers them, and marks only move forward but for a rebuild, which
 * the statement reading packed rows detects.
 *
 * The day the mark falls in (today, mostly) is packed part-way. When more of its hours
 * close it is packed again from its midnight, and the new row replaces the old: the
 * table keeps per series and day the row packed through the latest instant
 * (ReplacingMergeTree on `packed`, read with FINAL). A closed hour never changes, so
 * packing a range again (a crash between its rows and its mark, two compactors) writes
 * the same rows again.
 *
 * @example
 * const through = closedThrough(states, partitions);   // tenant → first hour not closed
 * await store.command(PACK_SQL, { tenant, from, to });   // rows of [from, to) for one tenant
 */
import type { AnalyticsStore, QueryParams } from "../domain/ports/analytics-store.ts";
import type { WatermarkState } from "../domain/watermark.ts";
import type { Aggregation } from "./sample-query.ts";
import { QUERY_SETTINGS, sampleValue } from "./promql/selector-sql.ts";
import type { SeriesScope } from "./promql/series-scope.ts";

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/**
 * The aggregations the packed rows answer, the hourly arrays each reads, and whether it
 * needs each hour's sample count (`avg`, `count`) or only which hours have samples (the
 * others read the row's `hours`); `last` and percentiles read `rollup_1h`.
 */
const PACKED_READS: Readonly<
  Partial<
    Record<
      Aggregation,
      { readonly arrays: readonly ("sum" | "count" | "min" | "max")[]; readonly counts: boolean }
    >
  >
> = {
  avg: { arrays: ["sum", "count"], counts: true },
  sum: { arrays: ["sum"], counts: false },
  count: { arrays: ["count"], counts: true },
  min: { arrays: ["min"], counts: false },
  max: { arrays: ["max"], counts: false },
};

export const PACKED_AGGREGATIONS: ReadonlySet<Aggregation> = new Set(
  Object.keys(PACKED_READS) as Aggregation[],
);

export function rollupDaysTables(retentionDays: number): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS rollup_1h_by_day (
      tenant LowCardinality(String),
      series_id UInt64,
      day Date,
      -- bit h set: hour h has samples
      hours UInt32,
      -- the sample count of every hour with samples when they all have the same, 0 otherwise
      per_hour UInt64,
      -- each hour's sample count, only when they differ (empty otherwise)
      count Array(UInt64),
      sum Array(Float64),
      min Array(Float64),
      max Array(Float64),
      -- the instant the row's day is packed through: of two rows of a day, the later holds more hours
      packed DateTime64(3)
    ) ENGINE = ReplacingMergeTree(packed)
    PARTITION BY toYYYYMM(day)
    ORDER BY (tenant, day, series_id)
    TTL day + INTERVAL ${retentionDays} DAY`,
    `CREATE TABLE IF NOT EXISTS rollup_1h_by_day_through (
      tenant LowCardinality(String),
      through DateTime
    ) ENGINE = ReplacingMergeTree(through)
    ORDER BY tenant`,
    // The tables of earlier layouts (rows ordered by series, marks by day, counts always
    // as arrays): without them each tenant is packed again from its oldest bucket, once.
    "DROP TABLE IF EXISTS rollup_1h_days",
    "DROP TABLE IF EXISTS rollup_1h_compacted",
    "DROP TABLE IF EXISTS rollup_1h_packed",
    "DROP TABLE IF EXISTS rollup_1h_packed_through",
  ];
}

/**
 * Per tenant, the start (ms) of the first hour not closed in every partition: hours
 * before it are closed. A tenant some partition has not seen is left
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
    if (Number.isFinite(watermark)) through.set(tenant, Math.floor(watermark / HOUR_MS) * HOUR_MS);
  }
  return through;
}

/**
 * The statement that packs one tenant's buckets of [from, to) (ms; `from` a midnight,
 * `to` an hour), merged across their partial rows, into `rollup_1h_by_day`, each row
 * packed through `to`; parameters `tenant`, `from`, `to`.
 */
export const PACK_SQL =
  `INSERT INTO rollup_1h_by_day (tenant, series_id, day, hours, per_hour, count, sum, min, max, packed)
  SELECT {tenant:String}, series_id, toDate(bucket, 'UTC') AS day,
    groupBitOrIf(bitShiftLeft(toUInt32(1), toHour(bucket, 'UTC')), c > 0),
    if(minIf(c, c > 0) = maxIf(c, c > 0), minIf(c, c > 0), 0) AS uniform,
    if(uniform > 0, [], groupArrayInsertAt(toUInt64(0), 24)(c, toHour(bucket, 'UTC'))),
    groupArrayInsertAt(toFloat64(0), 24)(s, toHour(bucket, 'UTC')),
    groupArrayInsertAt(inf, 24)(lo, toHour(bucket, 'UTC')),
    groupArrayInsertAt(-inf, 24)(hi, toHour(bucket, 'UTC')),
    fromUnixTimestamp64Milli({to:Int64})
  FROM (
    SELECT series_id, bucket, sum(count) AS c, sum(sum) AS s, min(min) AS lo, max(max) AS hi
    FROM rollup_1h
    WHERE tenant = {tenant:String}
      AND bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))
    GROUP BY series_id, bucket
  )
  GROUP BY series_id, day
  -- In the table's order, so the statement's parts hold disjoint key ranges and FINAL
  -- passes them through instead of merging them on every read.
  ORDER BY day, series_id`;

export const MARK_SQL = `INSERT INTO rollup_1h_by_day_through (tenant, through)
  VALUES ({tenant:String}, toDateTime(intDiv({through:Int64}, 1000), 'UTC'))`;

/** A tenant's oldest 1h bucket (ms), null without any. */
export const FIRST_BUCKET_SQL =
  `SELECT if(count() = 0, NULL, toInt64(toUnixTimestamp(min(bucket))) * 1000) AS first
  FROM rollup_1h WHERE tenant = {tenant:String}`;

/** A tenant's packed-through hour as ms, over its rows of `rollup_1h_by_day_through`. */
const THROUGH_MS = "toInt64(toUnixTimestamp(max(through))) * 1000";

/** Per tenant, the hour (ms) up to which rows are packed. */
export const MARKS_SQL =
  `SELECT tenant, ${THROUGH_MS} AS through FROM rollup_1h_by_day_through GROUP BY tenant`;

/** A tenant's packed-through hour (ms; 0 when nothing is packed); parameter `tenant`. */
export const PACKED_THROUGH_SQL =
  `SELECT ${THROUGH_MS} AS through FROM rollup_1h_by_day_through WHERE tenant = {tenant:String}`;

/** A tenant's packed-through mark (ms) as stored now, 0 when nothing is packed. */
export async function packedThrough(
  store: AnalyticsStore,
  tenant: string,
  settings: Record<string, string | number> = QUERY_SETTINGS,
): Promise<number> {
  const [row] = await store.query<{ through: string | number }>(PACKED_THROUGH_SQL, { tenant }, settings);
  return Number(row?.through ?? 0);
}

/** What a statement that read packed rows of a mark it took before fails with, once the mark went back. */
export const PACKED_REPLACED = "packed rows of the 1h tier were replaced while the query ran";

/**
 * A condition that holds while the tenant's mark is still at least `{packedMark:Int64}`
 * and fails the statement otherwise: a rebuild swapped in empty packed tables after the
 * caller read the mark, so rows before it may be missing.
 */
export const PACKED_MARK_HOLDS =
  `throwIf((${PACKED_THROUGH_SQL}) < {packedMark:Int64}, '${PACKED_REPLACED}') = 0`;

const FOR_EACH = { count: "sumForEach", sum: "sumForEach", min: "minForEach", max: "maxForEach" } as const;

/**
 * The packed part of a dashboard query: each selected series' days in range merged per
 * group and day, hour by hour (`sumForEach` and the like over the 24-hour arrays). Rows
 * carry the group as the other parts do (`g`), the day (days since the epoch), the hours
 * with samples and the merged arrays, for `unpackedPoints`. Counts are summed per group,
 * day and `hours`: rows whose hours all hold the same count (a series sampled at a fixed
 * interval) carry it once, so their sum needs no array. The statement checks the
 * tenant's mark is still at least the `mark` the caller read (`PACKED_MARK_HOLDS`).
 */
export function packedPartSql(options: {
  readonly agg: Aggregation;
  /** The selected series and their groups (`gi`), and what a row carries out for its group. */
  readonly scope: Pick<SeriesScope, "group" | "label" | "filter">;
  readonly params: QueryParams;
  readonly from: number;
  readonly before: number;
  readonly mark: number;
}): string {
  const { scope } = options;
  const reads = PACKED_READS[options.agg];
  if (reads === undefined) throw new Error(`packed rows do not answer ${options.agg}`);
  Object.assign(options.params, {
    packedFrom: options.from,
    packedTo: options.before,
    packedMark: options.mark,
  });
  const columns = [
    ...(reads.counts ? ["r.hours AS hours", "sum(r.per_hour) AS uniform"] : ["groupBitOr(r.hours) AS hours"]),
    ...reads.arrays.map((c) => `${FOR_EACH[c]}(r.${c}) AS ${c}`),
  ];
  return `SELECT ${scope.group("r.series_id")} AS gi, ${scope.label("gi")} AS g, toInt32(r.day) AS day,
      ${columns.join(", ")}
    FROM rollup_1h_by_day AS r FINAL
    WHERE r.tenant = {tenant:String} AND ${scope.filter("r.series_id")}
      AND r.day >= toDate(toDateTime(intDiv({packedFrom:Int64}, 1000), 'UTC'))
      AND r.day < toDate(toDateTime(intDiv({packedTo:Int64}, 1000), 'UTC')) + 1
      AND ${PACKED_MARK_HOLDS}
    GROUP BY gi, day${reads.counts ? ", hours" : ""}`;
}

/** A row of `packedPartSql`: numbers as the JSON output has them (64-bit integers and non-finite values quoted). */
export interface PackedDay {
  readonly g: unknown;
  readonly day: number | string;
  /** Bit h set: some series of the row has samples in hour h. */
  readonly hours: number | string;
  /** With counts: the summed count of each hour with samples of the rows that carry it once. */
  readonly uniform?: number | string;
  readonly sum?: readonly (number | string)[];
  /** With counts: the summed counts of the rows that carry them per hour; empty when none does. */
  readonly count?: readonly (number | string)[];
  readonly min?: readonly (number | string)[];
  readonly max?: readonly (number | string)[];
}

/**
 * The packed part's points: the hours in [from, before) with samples, aggregated per
 * group and step bucket, in time order; `before` is step-aligned, so a bucket is whole.
 */
export function unpackedPoints(
  rows: readonly PackedDay[],
  agg: Aggregation,
  range: { readonly from: number; readonly before: number; readonly step: number },
): { g: unknown; t: number; v: number }[] {
  const column = agg === "avg" ? "sum" : agg;
  const initial = agg === "min" ? Infinity : agg === "max" ? -Infinity : 0;
  /** Per bucket and group, the aggregate so far and (for avg) the samples under it. */
  const buckets = new Map<number, Map<unknown, [number, number]>>();
  for (const row of rows) {
    const start = Number(row.day) * DAY_MS;
    const hours = Number(row.hours);
    const uniform = Number(row.uniform ?? 0);
    const counts = row.count ?? [];
    const values = column === "count" ? undefined : row[column as "sum" | "min" | "max"];
    for (let h = 0; h < 24; h++) {
      if ((hours & (1 << h)) === 0) continue;
      const hour = start + h * HOUR_MS;
      if (hour < range.from || hour >= range.before) continue;
      // The hour's samples: the rows carrying one count for all their hours and those
      // carrying each (`avg`, `count`); the others need only know the hour has some.
      const n = uniform + Number(counts[h] ?? 0);
      const t = Math.floor(hour / range.step) * range.step;
      let groups = buckets.get(t);
      if (!groups) buckets.set(t, groups = new Map());
      let state = groups.get(row.g);
      if (!state) groups.set(row.g, state = [initial, 0]);
      const x = values === undefined ? n : sampleValue(values[h]);
      state[0] = agg === "min" ? Math.min(state[0], x) : agg === "max" ? Math.max(state[0], x) : state[0] + x;
      state[1] += n;
    }
  }
  const points: { g: unknown; t: number; v: number }[] = [];
  for (const t of [...buckets.keys()].sort((a, b) => a - b)) {
    for (const [g, [value, n]] of buckets.get(t)!) {
      points.push({ g, t, v: agg === "avg" ? value / n : value });
    }
  }
  return points;
}
