/**
 * Log records exactly as ingest writes them, for the projection benchmarks: bodies of
 * `seriesPerBody` series × `pointsPerLine` points over `series` series, split by
 * partition and encoded once as templates; each round patches timestamps and values
 * into a copy, so filling a log costs a memcpy per record.
 *
 * @example
 * const templates = recordTemplates(shape);
 * await log.append(TOPIC, templates[0].map((t) => recordFor(shape, t, round, baseMs)));
 */
import type { CommandLog, OutgoingRecord } from "../domain/ports/command-log.ts";
import type { SampleBatch } from "../domain/sample-batch.ts";
import { encodeSampleRecord } from "../domain/sample-record.ts";
import { partitionOf, type SeriesDef, seriesId } from "../domain/series.ts";
import { METRIC, sampleValue, seriesLabels } from "./workload.ts";

export interface RecordShape {
  readonly tenant: string;
  readonly series: number;
  readonly seriesPerBody: number;
  readonly pointsPerLine: number;
  readonly partitions: number;
  readonly stepMs: number;
}

/** Ingest's steady 10k×1 workload: bodies of 10k series × 1 point over 100k series, 8 partitions. */
export const BODIES_10K: RecordShape = {
  tenant: "bench",
  series: 100_000,
  seriesPerBody: 10_000,
  pointsPerLine: 1,
  partitions: 8,
  stepMs: 10_000,
};

/** Per (body group, partition): the encoded record and where its sample columns start. */
export interface RecordTemplate {
  readonly partition: number;
  readonly bytes: Uint8Array;
  readonly series: readonly number[];
}

export function recordTemplates(shape: RecordShape): RecordTemplate[][] {
  const groups: RecordTemplate[][] = [];
  for (let first = 0; first < shape.series; first += shape.seriesPerBody) {
    const byPartition = new Map<number, { defs: SeriesDef[]; series: number[] }>();
    for (let s = first; s < first + shape.seriesPerBody; s++) {
      const labels = Object.fromEntries(seriesLabels(s));
      const def: SeriesDef = { id: seriesId(shape.tenant, METRIC, labels), metric: METRIC, labels };
      const p = partitionOf(def.id, shape.partitions);
      let part = byPartition.get(p);
      if (part === undefined) byPartition.set(p, part = { defs: [], series: [] });
      part.defs.push(def);
      part.series.push(s);
    }
    const templates: RecordTemplate[] = [];
    for (const [partition, { defs, series }] of byPartition) {
      const n = defs.length * shape.pointsPerLine;
      const batch: SampleBatch = {
        tenant: shape.tenant,
        series: defs,
        seriesIndex: Uint32Array.from({ length: n }, (_, i) => Math.floor(i / shape.pointsPerLine)),
        timestamps: new Float64Array(n),
        values: new Float64Array(n),
        length: n,
      };
      templates.push({ partition, bytes: encodeSampleRecord(batch), series });
    }
    groups.push(templates);
  }
  return groups;
}

/** The record of `template` for round `round`: timestamps and values patched into a copy. */
export function recordFor(
  shape: RecordShape,
  template: RecordTemplate,
  round: number,
  baseMs: number,
): OutgoingRecord {
  const bytes = template.bytes.slice();
  const k = shape.pointsPerLine;
  const n = template.series.length * k;
  const columns = new Float64Array(bytes.buffer, bytes.byteLength - 16 * n, 2 * n);
  for (let i = 0; i < n; i++) {
    const point = round * k + (i % k);
    columns[i] = baseMs + point * shape.stepMs;
    columns[n + i] = sampleValue(template.series[Math.floor(i / k)], point);
  }
  return { partition: template.partition, key: shape.tenant, value: bytes };
}

/** Appends `rounds` rounds of every body, each body under its own idempotency key, as ingest does. */
export async function fillLog(
  log: CommandLog,
  topic: string,
  shape: RecordShape,
  rounds: number,
  baseMs: number,
): Promise<void> {
  const templates = recordTemplates(shape);
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      templates.map((group, g) =>
        log.append(topic, group.map((t) => recordFor(shape, t, round, baseMs)), {
          idempotencyKey: `${round}/${g}`,
        })
      ),
    );
  }
}
