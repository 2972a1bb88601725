/**
 * ClickHouse tables of the read side, one DDL for chDB and a ClickHouse server. Every
 * table here is a projection of the command log and can be dropped and rebuilt.
 *
 * - `samples`: raw samples, ordered by (tenant, series_id, ts), DoubleDelta timestamps
 *   and Gorilla values under ZSTD, kept `rawDays`. One row per (tenant, series_id, ts)
 *   survives merges, the greatest `version` (the log offset it was written at); reads
 *   use FINAL so a repeat not merged yet is not seen twice.
 * - `series`: one row per series and day it was seen (ReplacingMergeTree), for discovery
 *   and label filters.
 * - `rollup_1m` / `rollup_1h`: mergeable partial states per series and bucket, written
 *   as batches arrive; rows of one bucket merge in the background and at query time.
 * - `rollup_1h_by_day` / `rollup_1h_by_day_through`: the 1h tier's closed hours packed one
 *   row per series and day, and per tenant the hour they reach (read-models/rollup-days.ts).
 * - `late_samples`: samples that arrived after their window closed.
 * - `projection_progress`: each projector's batch plan, written before its inserts, so a
 *   replay after a crash reproduces the same batches and their deduplication tokens.
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { rollupDaysTables } from "./rollup-days.ts";

export interface RetentionDays {
  readonly rawDays: number;
  readonly rollup1mDays: number;
  readonly rollup1hDays: number;
}

export const defaultRetention: RetentionDays = { rawDays: 7, rollup1mDays: 90, rollup1hDays: 730 };

/** Inserts remembered per table for de-duplicating replays. */
const DEDUP_WINDOW = 10_000;

function rollupTable(name: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
    tenant LowCardinality(String),
    series_id UInt64,
    bucket DateTime CODEC(DoubleDelta, ZSTD(1)),
    count SimpleAggregateFunction(sum, UInt64),
    sum SimpleAggregateFunction(sum, Float64),
    min SimpleAggregateFunction(min, Float64),
    max SimpleAggregateFunction(max, Float64),
    last AggregateFunction(argMax, Float64, Tuple(DateTime64(3), Float64)),
    sketch SimpleAggregateFunction(sumMap, Tuple(Array(Int32), Array(UInt64)))
  ) ENGINE = AggregatingMergeTree
  PARTITION BY toYYYYMM(bucket)
  ORDER BY (tenant, series_id, bucket)
  TTL bucket + INTERVAL ${days} DAY
  SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`;
}

export function schemaStatements(retention: RetentionDays = defaultRetention): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS samples (
      tenant LowCardinality(String),
      series_id UInt64,
      ts DateTime64(3) CODEC(DoubleDelta, ZSTD(1)),
      value Float64 CODEC(Gorilla, ZSTD(1)),
      version UInt64 DEFAULT 0 CODEC(Delta, ZSTD(1))
    ) ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMMDD(ts)
    ORDER BY (tenant, series_id, ts)
    TTL toDateTime(ts) + INTERVAL ${retention.rawDays} DAY
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `CREATE TABLE IF NOT EXISTS series (
      tenant LowCardinality(String),
      metric LowCardinality(String),
      series_id UInt64,
      labels Map(LowCardinality(String), String),
      day Date
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(day)
    ORDER BY (tenant, metric, series_id, day)
    TTL day + INTERVAL ${retention.rollup1hDays} DAY
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    rollupTable("rollup_1m", retention.rollup1mDays),
    rollupTable("rollup_1h", retention.rollup1hDays),
    ...rollupDaysTables(retention.rollup1hDays),
    `CREATE TABLE IF NOT EXISTS late_samples (
      tenant LowCardinality(String),
      series_id UInt64,
      ts DateTime64(3),
      value Float64,
      watermark DateTime64(3),
      received DateTime64(3)
    ) ENGINE = MergeTree
    ORDER BY (tenant, received)
    TTL toDateTime(received) + INTERVAL ${retention.rawDays} DAY
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `CREATE TABLE IF NOT EXISTS projection_progress (
      consumer LowCardinality(String),
      partition UInt32,
      first_offset UInt64,
      last_offset UInt64,
      state_before String,
      state_after String,
      plan_now Int64,
      written DateTime DEFAULT now()
    ) ENGINE = MergeTree
    ORDER BY (consumer, partition, first_offset)
    TTL written + INTERVAL 7 DAY`,
  ];
}

export async function ensureSchema(store: AnalyticsStore, retention?: RetentionDays): Promise<void> {
  for (const statement of schemaStatements(retention)) await store.command(statement);
}
