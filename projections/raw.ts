/**
 * The raw projection: every sample into `samples`, and each series into `series` the
 * first time this projector sees it on a given day (the table replaces duplicates, so
 * a series row written twice costs nothing but the write).
 */
import type { RecordBatch } from "../domain/ports/command-log.ts";
import { seriesIdToDecimal } from "../domain/series.ts";
import { batchToken, type PlannedBatch, type Projection, type ProjectionWrite } from "./projection.ts";
import { decodeSamples, sampleBlock, sampleSourceSql } from "./sample-block.ts";

const DAY_MS = 86_400_000;

export interface RawProjectionOptions {
  readonly topic?: string;
  /** Consumer group and token prefix; distinct names project the same log independently. */
  readonly name?: string;
  /** Series remembered as already written today; bounds memory under high churn. */
  readonly seenSeriesLimit?: number;
}

export function rawProjection(options: RawProjectionOptions = {}): Projection<null> {
  const seen = new Map<string, number>();
  const limit = options.seenSeriesLimit ?? 2_000_000;
  const name = options.name ?? "raw";
  return {
    name,
    topic: options.topic ?? "metrics.samples",
    initialState: () => null,
    encodeState: () => "",
    decodeState: () => null,
    tick: (state) => state,
    plan(batch: RecordBatch, state: null): PlannedBatch<null> {
      const decoded = decodeSamples(batch);
      const { block, tenants } = sampleBlock(decoded.batches);
      const writes: ProjectionWrite[] = [];
      if (block.rows > 0) {
        writes.push({
          kind: "block",
          block,
          inserts: [{
            sql: `INSERT INTO samples (tenant, series_id, ts, value)
              SELECT tenant, series_id, t, value FROM ${sampleSourceSql(tenants)}`,
            deduplicationToken: batchToken(name, batch, "samples"),
          }],
        });
      }
      const seriesRows: Record<string, unknown>[] = [];
      for (const samples of decoded.batches) {
        const firstSeen = new Map<number, number>();
        for (let i = 0; i < samples.length; i++) {
          const s = samples.seriesIndex[i];
          const day = Math.floor(samples.timestamps[i] / DAY_MS);
          const known = firstSeen.get(s);
          if (known === undefined || day > known) firstSeen.set(s, day);
        }
        for (const [s, day] of firstSeen) {
          const def = samples.series[s];
          const key = samples.tenant + "/" + def.id.hex;
          if ((seen.get(key) ?? -1) >= day) continue;
          if (seen.size >= limit) seen.delete(seen.keys().next().value!);
          seen.set(key, day);
          seriesRows.push({
            tenant: samples.tenant,
            metric: def.metric,
            series_id: seriesIdToDecimal(def.id),
            labels: def.labels,
            day: new Date(day * DAY_MS).toISOString().slice(0, 10),
          });
        }
      }
      if (seriesRows.length > 0) writes.push({ kind: "rows", table: "series", rows: seriesRows });
      return {
        writes,
        deadLetters: decoded.deadLetters,
        state,
        counters: { samples: block.rows, lateByTenant: new Map() },
      };
    },
  };
}
