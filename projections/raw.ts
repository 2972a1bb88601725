/**
 * The raw projection: every sample into `samples`, and each series into `series` the
 * first time this projector sees it on a given day (the table replaces duplicates, so
 * a series row written twice costs nothing but the write).
 */
import type { RecordBatch } from "../domain/ports/command-log.ts";
import type { SeriesId } from "../domain/series.ts";
import { batchToken, type PlannedBatch, type Projection, type ProjectionWrite } from "./projection.ts";
import { eachSampleRecord, expectedSamples, SampleBlockBuilder, sampleSourceSql } from "./sample-block.ts";
import { SeriesBlockBuilder, seriesInsert } from "./series-block.ts";

const DAY_MS = 86_400_000;

export interface RawProjectionOptions {
  readonly topic?: string;
  /** Consumer group and token prefix; distinct names project the same log independently. */
  readonly name?: string;
  /** Series remembered as already written today; bounds memory under high churn. */
  readonly seenSeriesLimit?: number;
}

export function rawProjection(options: RawProjectionOptions = {}): Projection<null> {
  const seen = new SeenSeries(options.seenSeriesLimit ?? 2_000_000);
  const name = options.name ?? "raw";
  return {
    name,
    topic: options.topic ?? "metrics.samples",
    initialState: () => null,
    encodeState: () => "",
    decodeState: () => null,
    tick: (state) => state,
    plan(batch: RecordBatch, state: null): PlannedBatch<null> {
      const samples = new SampleBlockBuilder(expectedSamples(batch));
      const series = new SeriesBlockBuilder();
      const deadLetters = eachSampleRecord(batch, (decoded) => {
        samples.add(decoded);
        const lastDay = new Float64Array(decoded.series.length).fill(-1);
        for (let i = 0; i < decoded.length; i++) {
          const s = decoded.seriesIndex[i];
          const day = Math.floor(decoded.timestamps[i] / DAY_MS);
          if (day > lastDay[s]) lastDay[s] = day;
        }
        for (let s = 0; s < lastDay.length; s++) {
          const day = lastDay[s];
          if (day < 0) continue;
          const def = decoded.series[s];
          if (seen.markNewer(decoded.tenant, def.id, day)) series.add(decoded.tenant, def, day);
        }
      });
      const { block, tenants } = samples.build();
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
      if (series.rows > 0) {
        // After a restart the replay lists more series than the first attempt did (the
        // memory of written series is gone); those extra rows were written by earlier
        // batches, so dropping the replay's insert by its token loses nothing.
        writes.push({
          kind: "block",
          block: series.build(),
          inserts: [seriesInsert(series.tenants, batchToken(name, batch, "series"))],
        });
      }
      return {
        writes,
        deadLetters,
        state,
        counters: { samples: block.rows, lateByTenant: new Map() },
      };
    },
  };
}

/**
 * The day each series was last written to `series`, keyed by the id's words so the hot
 * loop builds no strings; bounded, evicting the oldest entries first.
 */
class SeenSeries {
  readonly #byTenant = new Map<string, Map<number, { hi: number; day: number }[]>>();
  #size = 0;

  constructor(private readonly limit: number) {}

  /** Records `day` for the series and says whether it is newer than what was recorded. */
  markNewer(tenant: string, id: SeriesId, day: number): boolean {
    let byLo = this.#byTenant.get(tenant);
    if (!byLo) this.#byTenant.set(tenant, byLo = new Map());
    const entries = byLo.get(id.lo);
    const entry = entries?.find((e) => e.hi === id.hi);
    if (entry) {
      if (entry.day >= day) return false;
      entry.day = day;
      return true;
    }
    if (this.#size >= this.limit) this.#evict();
    if (entries) entries.push({ hi: id.hi, day });
    else byLo.set(id.lo, [{ hi: id.hi, day }]);
    this.#size++;
    return true;
  }

  #evict(): void {
    for (const byLo of this.#byTenant.values()) {
      const oldest = byLo.keys().next();
      if (oldest.done) continue;
      this.#size -= byLo.get(oldest.value)!.length;
      byLo.delete(oldest.value);
      return;
    }
  }
}
