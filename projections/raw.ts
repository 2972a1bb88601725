/**
 * The raw projection: every sample into `samples`, and each series into `series` the
 * first time this projector sees it on a given day (the table replaces duplicates, so
 * a series row written twice costs nothing but the write).
 *
 * A series and timestamp written twice keeps the last written value: `samples` is a
 * ReplacingMergeTree whose version is the sample's log position (record offset, then
 * index within the record); it keeps one row per block on insert and per part on merge,
 * and readers use FINAL until the parts have merged.
 */
import type { RecordBatch } from "../domain/ports/command-log.ts";
import type { CatalogSeries } from "../domain/ports/series-catalog.ts";
import { seriesIdToDecimal } from "../domain/series.ts";
import { seriesWords } from "../domain/sample-batch.ts";
import {
  batchToken,
  liveTables,
  type PlannedBatch,
  type Projection,
  type ProjectionWrite,
  type TableNames,
} from "./projection.ts";
import {
  eachSampleRecord,
  expectedSamples,
  type SampleBlock,
  SampleBlockBuilder,
  sampleSourceSql,
} from "./sample-block.ts";
import { SeenSeries } from "./seen-series.ts";
import { SeriesBlockBuilder, seriesInsert } from "./series-block.ts";

const DAY_MS = 86_400_000;

export interface RawProjectionOptions {
  readonly topic?: string;
  /** Consumer group and token prefix; distinct names project the same log independently. */
  readonly name?: string;
  /** Series remembered as already written today; bounds memory under high churn. */
  readonly seenSeriesLimit?: number;
  /** Names of `samples` and `series`; the live tables by default. */
  readonly tables?: TableNames;
  /**
   * Told of each series row the projection writes (at most once per series and day), so
   * an in-process series index sees a series as soon as the `series` table does.
   */
  readonly seriesSeen?: (tenant: string, series: CatalogSeries, day: number) => void;
  /**
   * Told of each batch's samples, in log order, once the store has acknowledged them, so
   * an in-process head of recent samples holds only what `samples` holds.
   */
  readonly samplesStored?: (samples: SampleBlock) => void;
}

export function rawProjection(options: RawProjectionOptions = {}): Projection<null> {
  const seen = new SeenSeries(options.seenSeriesLimit ?? 2_000_000);
  const name = options.name ?? "raw";
  const table = options.tables ?? liveTables;
  return {
    name,
    topic: options.topic ?? "metrics.samples",
    initialState: () => null,
    encodeState: () => "",
    decodeState: () => null,
    tick: (state) => state,
    plan(batch: RecordBatch, state: null): PlannedBatch<null> {
      // Versioned rows: of two samples for one series and timestamp, in one record or in
      // two, the table keeps the later one on insert, on merge and in FINAL reads.
      const samples = new SampleBlockBuilder(expectedSamples(batch), { versioned: true });
      const series = new SeriesBlockBuilder();
      const deadLetters = eachSampleRecord(batch, (decoded, record) => {
        samples.add(decoded, undefined, 1, record.offset);
        const ids = seriesWords(decoded);
        const lastDay = new Float64Array(ids.length / 2).fill(-1);
        for (let i = 0; i < decoded.length; i++) {
          const s = decoded.seriesIndex[i];
          const day = Math.floor(decoded.timestamps[i] / DAY_MS);
          if (day > lastDay[s]) lastDay[s] = day;
        }
        for (const s of seen.newer(decoded.tenant, ids, lastDay)) {
          const def = decoded.series[s];
          series.add(decoded.tenant, def, lastDay[s]);
          options.seriesSeen?.(
            decoded.tenant,
            { id: seriesIdToDecimal(def.id), metric: def.metric, labels: def.labels },
            lastDay[s],
          );
        }
      });
      const built = samples.build();
      const { block, tenants } = built;
      const writes: ProjectionWrite[] = [];
      if (block.rows > 0) {
        writes.push({
          kind: "block",
          block,
          inserts: [{
            sql: `INSERT INTO ${table("samples")} (tenant, series_id, ts, value, version)
              SELECT tenant, series_id, t, value, version FROM ${sampleSourceSql(tenants, true)}`,
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
          inserts: [seriesInsert(series.tenants, batchToken(name, batch, "series"), table("series"))],
        });
      }
      return {
        writes,
        deadLetters,
        state,
        counters: { samples: block.rows, lateByTenant: new Map() },
        stored: options.samplesStored && block.rows > 0 ? () => options.samplesStored!(built) : undefined,
      };
    },
  };
}
