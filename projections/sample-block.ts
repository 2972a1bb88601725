/**
 * Decodes the sample records of a batch and lays their samples out as one columnar
 * block (`tenant_ix UInt16, series_id UInt64, ts Float64, value Float64`) for
 * ClickHouse, with the batch's tenants as a lookup array. Records that cannot be
 * decoded are set aside for the dead-letter topic.
 */
import type { Column, ColumnBlock } from "../domain/ports/analytics-store.ts";
import type { RecordBatch } from "../domain/ports/command-log.ts";
import type { SampleBatch } from "../domain/sample-batch.ts";
import { decodeSampleRecord, MalformedRecord } from "../domain/sample-record.ts";
import type { DeadLetter } from "./projection.ts";

export interface DecodedSamples {
  readonly batches: readonly SampleBatch[];
  readonly deadLetters: readonly DeadLetter[];
  readonly samples: number;
}

export function decodeSamples(batch: RecordBatch): DecodedSamples {
  const batches: SampleBatch[] = [];
  const deadLetters: DeadLetter[] = [];
  let samples = 0;
  for (const record of batch.records) {
    try {
      const decoded = decodeSampleRecord(record.value);
      batches.push(decoded);
      samples += decoded.length;
    } catch (error) {
      if (!(error instanceof MalformedRecord)) throw error;
      deadLetters.push({ record, reason: error.message });
    }
  }
  return { batches, deadLetters, samples };
}

export interface SampleBlock {
  readonly block: ColumnBlock;
  /** Tenants in `tenant_ix` order. */
  readonly tenants: readonly string[];
}

/**
 * Lays out the samples whose flag equals `selected` (all samples when no flags are
 * given); `flags[b][i]` belongs to sample `i` of batch `b`.
 */
export function sampleBlock(
  batches: readonly SampleBatch[],
  flags?: readonly Uint8Array[],
  selected = 1,
): SampleBlock {
  let capacity = 0;
  for (const b of batches) capacity += b.length;
  const tenants: string[] = [];
  const tenantIx = new Uint16Array(capacity);
  const ids = new Uint32Array(capacity * 2);
  const ts = new Float64Array(capacity);
  const values = new Float64Array(capacity);
  let row = 0;
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b];
    let t = tenants.indexOf(batch.tenant);
    if (t < 0) t = tenants.push(batch.tenant) - 1;
    const series = batch.series;
    const flag = flags?.[b];
    for (let i = 0; i < batch.length; i++) {
      if (flag && flag[i] !== selected) continue;
      const id = series[batch.seriesIndex[i]].id;
      tenantIx[row] = t;
      ids[2 * row] = id.lo;
      ids[2 * row + 1] = id.hi;
      ts[row] = batch.timestamps[i];
      values[row] = batch.values[i];
      row++;
    }
  }
  const columns: Column[] = [
    { name: "tenant_ix", type: "UInt16", data: tenantIx },
    { name: "series_id", type: "UInt64", data: ids },
    { name: "ts", type: "Float64", data: ts },
    { name: "value", type: "Float64", data: values },
  ];
  return { block: { rows: row, columns }, tenants };
}

/** `['acme','globex']` as a ClickHouse array literal. */
export function tenantArraySql(tenants: readonly string[]): string {
  return "[" + tenants.map((t) => "'" + t.replaceAll("\\", "\\\\").replaceAll("'", "\\'") + "'").join(",") +
    "]";
}

/** The staged block's columns as (tenant, series_id, t DateTime64(3), value). */
export function sampleSourceSql(tenants: readonly string[]): string {
  return `(SELECT ${tenantArraySql(tenants)}[tenant_ix + 1] AS tenant, series_id,
    fromUnixTimestamp64Milli(toInt64(ts)) AS t, value FROM {source})`;
}
