/**
 * The rollup projection: 1m and 1h buckets of mergeable partial states (count, sum,
 * min, max, last, percentile sketch), written as each batch is processed, so rollups
 * are queryable within seconds and never wait for a window to close.
 *
 * The watermark of a tenant within a partition decides only whether a sample may still
 * change a bucket:
 * a sample whose 1m window closed before its batch arrived goes to `late_samples` and
 * is counted per tenant; it changes neither tier, so the 1h tier always equals the
 * merge of its 1m buckets. NaN samples (stale markers too) stay in raw only.
 */
import type { RecordBatch } from "../domain/ports/command-log.ts";
import {
  advanceIdle,
  classifyBatch,
  initialWatermark,
  type WatermarkPolicy,
  type WatermarkState,
} from "../domain/watermark.ts";
import { sketchStateSql } from "../read-models/sketch-sql.ts";
import { batchToken, type PlannedBatch, type Projection, type ProjectionWrite } from "./projection.ts";
import { decodeSamples, sampleBlock, sampleSourceSql, tenantArraySql } from "./sample-block.ts";

const WINDOW_MS = 60_000;

export interface RollupProjectionOptions {
  readonly topic?: string;
  /** Consumer group and token prefix; distinct names project the same log independently. */
  readonly name?: string;
  readonly watermark?: Partial<WatermarkPolicy>;
}

function rollupInsert(table: string, bucketSeconds: number, source: string): string {
  return `INSERT INTO ${table} (tenant, series_id, bucket, count, sum, min, max, last, sketch)
    SELECT tenant, series_id, toDateTime(intDiv(toUnixTimestamp64Milli(t), ${
    bucketSeconds * 1000
  }) * ${bucketSeconds}, 'UTC') AS b,
      count(), sum(value), min(value), max(value), argMaxState(value, (t, value)),
      sumMap(${sketchStateSql("value")})
    FROM ${source} WHERE NOT isNaN(value)
    GROUP BY tenant, series_id, b`;
}

/** Watermarks per tenant within a partition, so one tenant's backfill never makes another's data late. */
export type RollupState = ReadonlyMap<string, WatermarkState>;

export function rollupProjection(options: RollupProjectionOptions = {}): Projection<RollupState> {
  const name = options.name ?? "rollup";
  const policy = options.watermark ?? {};
  const finite = (n: number) => Number.isFinite(n) ? n : null;
  return {
    name,
    topic: options.topic ?? "metrics.samples",
    initialState: () => new Map(),
    encodeState: (state) =>
      JSON.stringify(
        Object.fromEntries(
          [...state].map(([tenant, s]) => [tenant, [s.maxEventTime, s.watermark, s.lastSeenAt].map(finite)]),
        ),
      ),
    decodeState(text) {
      const entries = Object.entries(JSON.parse(text || "{}") as Record<string, (number | null)[]>);
      return new Map(entries.map(([tenant, values]) => {
        const [maxEventTime, watermark, lastSeenAt] = values.map((n) => n ?? -Infinity);
        return [tenant, { ...initialWatermark(policy), maxEventTime, watermark, lastSeenAt }];
      }));
    },
    tick(state, now) {
      let next: Map<string, WatermarkState> | undefined;
      for (const [tenant, s] of state) {
        const advanced = advanceIdle(s, now);
        if (advanced !== s) (next ??= new Map(state)).set(tenant, advanced);
      }
      return next ?? state;
    },
    plan(batch: RecordBatch, before: RollupState, now: number): PlannedBatch<RollupState> {
      const decoded = decodeSamples(batch);
      const state = new Map(before);
      const watermarkBefore = new Map<string, number>();
      const flags = decoded.batches.map((samples) => {
        const out = new Uint8Array(samples.length);
        const current = state.get(samples.tenant) ?? initialWatermark(policy);
        if (!watermarkBefore.has(samples.tenant)) watermarkBefore.set(samples.tenant, current.watermark);
        state.set(
          samples.tenant,
          classifyBatch(current, samples.timestamps, samples.length, WINDOW_MS, now, out).state,
        );
        return out;
      });
      const onTime = sampleBlock(decoded.batches, flags, 0);
      const late = sampleBlock(decoded.batches, flags, 1);
      const writes: ProjectionWrite[] = [];
      if (onTime.block.rows > 0) {
        const source = sampleSourceSql(onTime.tenants);
        writes.push({
          kind: "block",
          block: onTime.block,
          inserts: [
            {
              sql: rollupInsert("rollup_1m", 60, source),
              deduplicationToken: batchToken(name, batch, "rollup_1m"),
            },
            {
              sql: rollupInsert("rollup_1h", 3600, source),
              deduplicationToken: batchToken(name, batch, "rollup_1h"),
            },
          ],
        });
      }
      const lateByTenant = new Map<string, number>();
      if (late.block.rows > 0) {
        decoded.batches.forEach((samples, b) => {
          const count = flags[b].reduce((n, f) => n + f, 0);
          if (count > 0) lateByTenant.set(samples.tenant, (lateByTenant.get(samples.tenant) ?? 0) + count);
        });
        const watermarks = late.tenants.map((t) => finite(watermarkBefore.get(t) ?? -Infinity) ?? 0);
        writes.push({
          kind: "block",
          block: late.block,
          inserts: [{
            sql: `INSERT INTO late_samples (tenant, series_id, ts, value, watermark, received)
              SELECT tenant, series_id, t, value,
                fromUnixTimestamp64Milli(toInt64([${watermarks.join(",")}][indexOf(${
              tenantArraySql(late.tenants)
            }, tenant)])),
                fromUnixTimestamp64Milli(toInt64(${now}))
              FROM ${sampleSourceSql(late.tenants)}`,
            deduplicationToken: batchToken(name, batch, "late_samples"),
          }],
        });
      }
      return {
        writes,
        deadLetters: decoded.deadLetters,
        state,
        counters: { samples: onTime.block.rows + late.block.rows, lateByTenant },
      };
    },
  };
}
