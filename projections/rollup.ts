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
import { BucketAccumulator, coarsenBuckets } from "./bucket-states.ts";
import {
  batchToken,
  liveTables,
  type PlannedBatch,
  type Projection,
  type ProjectionWrite,
  type TableNames,
} from "./projection.ts";
import { rollupBlock, rollupInsert } from "./rollup-block.ts";
import {
  eachSampleRecord,
  expectedSamples,
  SampleBlockBuilder,
  sampleSourceSql,
  tenantArraySql,
  tenantIndex,
} from "./sample-block.ts";

const WINDOW_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface RollupProjectionOptions {
  readonly topic?: string;
  /** Consumer group and token prefix; distinct names project the same log independently. */
  readonly name?: string;
  readonly watermark?: Partial<WatermarkPolicy>;
  /** Names of `rollup_1m`, `rollup_1h` and `late_samples`; the live tables by default. */
  readonly tables?: TableNames;
}

/** Watermarks per tenant within a partition, so one tenant's backfill never makes another's data late. */
export type RollupState = ReadonlyMap<string, WatermarkState>;

export function rollupProjection(options: RollupProjectionOptions = {}): Projection<RollupState> {
  const name = options.name ?? "rollup";
  const table = options.tables ?? liveTables;
  const policy = options.watermark ?? {};
  const finite = (n: number) => Number.isFinite(n) ? n : null;
  // Groups per sample of the batch before, to size the next batch's tables so they need not
  // grow and rehash on the way (with one sample per series and batch, as live ingest
  // mostly gives, every sample is a group). Only allocation depends on it, never the plan.
  let minuteGroupsPerSample = 0.25;
  let hourGroupsPerMinuteGroup = 0.25;
  const sized = (n: number, ratio: number) => Math.ceil(n * Math.min(1, ratio * 1.25)) + 16;
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
      const state = new Map(before);
      const watermarkBefore = new Map<string, number>();
      const tenants: string[] = [];
      const expected = expectedSamples(batch);
      const minutes = new BucketAccumulator(WINDOW_MS, expected, sized(expected, minuteGroupsPerSample));
      const lateSamples = new SampleBlockBuilder();
      const lateByTenant = new Map<string, number>();
      let samples = 0;
      const deadLetters = eachSampleRecord(batch, (decoded) => {
        const tenant = decoded.tenant;
        const flags = new Uint8Array(decoded.length);
        const current = state.get(tenant) ?? initialWatermark(policy);
        if (!watermarkBefore.has(tenant)) watermarkBefore.set(tenant, current.watermark);
        const classified = classifyBatch(current, decoded.timestamps, decoded.length, WINDOW_MS, now, flags);
        state.set(tenant, classified.state);
        minutes.add(decoded, tenantIndex(tenants, tenant), flags, 0);
        if (classified.late > 0) {
          lateSamples.add(decoded, flags, 1);
          lateByTenant.set(tenant, (lateByTenant.get(tenant) ?? 0) + classified.late);
        }
        samples += decoded.length;
      });
      const writes: ProjectionWrite[] = [];
      const minuteStates = minutes.states();
      if (minuteStates.groups > 0) {
        // The hour tier is merged from the batch's minute states, not from raw samples again.
        const hours = coarsenBuckets(
          minuteStates,
          HOUR_MS,
          sized(minuteStates.groups, hourGroupsPerMinuteGroup),
        );
        if (samples > 0) minuteGroupsPerSample = minuteStates.groups / samples;
        hourGroupsPerMinuteGroup = hours.groups / minuteStates.groups;
        writes.push(
          {
            kind: "block",
            block: rollupBlock(minuteStates),
            inserts: [rollupInsert(table("rollup_1m"), tenants, batchToken(name, batch, "rollup_1m"))],
          },
          {
            kind: "block",
            block: rollupBlock(hours),
            inserts: [rollupInsert(table("rollup_1h"), tenants, batchToken(name, batch, "rollup_1h"))],
          },
        );
      }
      const late = lateSamples.build();
      if (late.block.rows > 0) {
        const watermarks = late.tenants.map((t) => finite(watermarkBefore.get(t) ?? -Infinity) ?? 0);
        writes.push({
          kind: "block",
          block: late.block,
          inserts: [{
            sql: `INSERT INTO ${table("late_samples")} (tenant, series_id, ts, value, watermark, received)
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
        deadLetters,
        state,
        counters: { samples, lateByTenant },
      };
    },
  };
}
