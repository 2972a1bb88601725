/**
 * Bucket states as a Native block for a rollup table, and the statement that inserts it.
 *
 * `last` is written as the engine's own `argMax(Float64, Tuple(DateTime64(3), Float64))`
 * state, 26 bytes: `01 | value f64 | 01 | ts i64 | value f64` (has-value flag and value of
 * the result, then of the compared tuple). tests/api/rollup-block.test.ts checks these
 * bytes against `argMaxState` in ClickHouse. Each group appears once per block, so the
 * insert skips the engine's merge-on-insert (`optimize_on_insert = 0`), which would
 * rebuild every state only to find nothing to merge.
 */
import type { BlockInsert, Column, ColumnBlock } from "../domain/ports/analytics-store.ts";
import type { BucketStates } from "./bucket-states.ts";
import { tenantArraySql } from "./sample-block.ts";

export const LAST_STATE = "argMax, Float64, Tuple(DateTime64(3), Float64)";
const LAST_WIDTH = 26;
const WORD = 2 ** 32;

export function rollupBlock(states: BucketStates): ColumnBlock {
  const n = states.groups;
  const ids = new Uint32Array(2 * n);
  const bucket = new Uint32Array(n);
  const count = new Uint32Array(2 * n);
  const last = new Uint8Array(n * LAST_WIDTH);
  const view = new DataView(last.buffer);
  const secondsPerBucket = states.widthMs / 1000;
  for (let g = 0; g < n; g++) {
    ids[2 * g] = states.idLo[g];
    ids[2 * g + 1] = states.idHi[g];
    bucket[g] = states.bucket[g] * secondsPerBucket;
    count[2 * g] = states.count[g] % WORD;
    count[2 * g + 1] = Math.floor(states.count[g] / WORD);
    const at = g * LAST_WIDTH;
    const ts = states.lastTs[g];
    const tsHigh = Math.floor(ts / WORD);
    last[at] = 1;
    view.setFloat64(at + 1, states.lastValue[g], true);
    last[at + 9] = 1;
    view.setUint32(at + 10, ts - tsHigh * WORD, true);
    view.setInt32(at + 14, tsHigh, true);
    view.setFloat64(at + 18, states.lastValue[g], true);
  }
  const entries = n === 0 ? 0 : states.sketchEnds[n - 1];
  const sketchCounts = new Uint32Array(2 * entries);
  for (let i = 0; i < entries; i++) {
    sketchCounts[2 * i] = states.sketchCounts[i] % WORD;
    sketchCounts[2 * i + 1] = Math.floor(states.sketchCounts[i] / WORD);
  }
  const columns: Column[] = [
    { name: "tenant_ix", type: "UInt16", data: states.tenantIx },
    { name: "series_id", type: "UInt64", data: ids },
    { name: "bucket", type: "DateTime", data: bucket },
    { name: "count", type: "UInt64", data: count },
    { name: "sum", type: "Float64", data: states.sum },
    { name: "min", type: "Float64", data: states.min },
    { name: "max", type: "Float64", data: states.max },
    { name: "last", type: "AggregateFunction", signature: LAST_STATE, width: LAST_WIDTH, data: last },
    { name: "sketch_keys", type: "Array(Int32)", ends: states.sketchEnds, data: states.sketchKeys },
    { name: "sketch_counts", type: "Array(UInt64)", ends: states.sketchEnds, data: sketchCounts },
  ];
  return { rows: n, columns };
}

/** Inserts a {@link rollupBlock} into `table`; `tenants` in `tenant_ix` order. */
export function rollupInsert(
  table: string,
  tenants: readonly string[],
  deduplicationToken: string,
): BlockInsert {
  return {
    sql: `INSERT INTO ${table} (tenant, series_id, bucket, count, sum, min, max, last, sketch)
      SETTINGS optimize_on_insert = 0
      SELECT ${tenantArraySql(tenants)}[tenant_ix + 1], series_id, bucket, count, sum, min, max, last,
        (sketch_keys, sketch_counts)
      FROM {source}`,
    deduplicationToken,
  };
}
