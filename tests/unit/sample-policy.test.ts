/**
 * The sample policy in the projection planners: a series and timestamp written twice
 * keeps the last written value. Raw rows carry a version that orders writes by log
 * position (the table keeps the greatest); rollup states count such a sample once.
 */
import assert from "node:assert/strict";
import { type LogRecord, recordBatch } from "../../domain/ports/command-log.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { decodeSampleRecord, encodeSampleRecord } from "../../domain/sample-record.ts";
import { makeSeriesId } from "../../domain/series.ts";
import { BucketAccumulator } from "../../projections/bucket-states.ts";
import { rawProjection } from "../../projections/raw.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0);
const cpu = { id: makeSeriesId(11, 3), metric: "cpu", labels: { host: "a" } };
const mem = { id: makeSeriesId(12, 3), metric: "mem", labels: { host: "a" } };

function record(offset: number, samples: [typeof cpu, number, number][]): LogRecord {
  const b = new SampleBatchBuilder("acme");
  const index = new Map<string, number>();
  for (const [def, ts, value] of samples) {
    if (!index.has(def.metric)) index.set(def.metric, b.addSeries(def));
    b.addSample(index.get(def.metric)!, ts, value);
  }
  return {
    topic: "metrics.samples",
    partition: 0,
    key: "k",
    offset,
    timestamp: T0,
    value: encodeSampleRecord(b.build()),
  };
}

/** Row `row` of a UInt64 column's (low, high) words. */
function uint64(words: Uint32Array, row: number): bigint {
  return BigInt(words[2 * row]) + (BigInt(words[2 * row + 1]) << 32n);
}

Deno.test("sample policy: raw rows are versioned by log offset, then by place in the record", () => {
  // given the same cpu sample written three times: twice in one record, once in a record
  // 300 offsets later (past the offset bits kept in the low word)
  const batch = recordBatch("metrics.samples", 0, [
    record(255, [[cpu, T0, 1], [mem, T0, 5], [cpu, T0, 2]]),
    record(555, [[cpu, T0, 3]]),
  ]);
  // when the raw projection plans the batch
  const planned = rawProjection().plan(batch, null, T0);
  const write = planned.writes[0];
  assert.equal(write.kind, "block");
  if (write.kind !== "block") return;
  const column = (name: string) => write.block.columns.find((c) => c.name === name)!;
  const version = column("version").data as Uint32Array;
  const values = column("value").data as Float64Array;
  // then every row is written, each later write with a greater version
  assert.deepEqual([...values.subarray(0, write.block.rows)], [1, 5, 2, 3]);
  const versions = [0, 1, 2, 3].map((row) => uint64(version, row));
  assert.deepEqual(versions, [
    (255n << 24n) + 0n,
    (255n << 24n) + 1n,
    (255n << 24n) + 2n,
    (555n << 24n) + 0n,
  ]);
  // and the insert names the version, which the table orders replacements by
  assert.match(write.inserts[0].sql, /\(tenant, series_id, ts, value, version\)/);
});

Deno.test("sample policy: rollup states count a repeated timestamp once, with the last value", () => {
  // given cpu at T0 written as 1 then 4 (one record) then 9 (a later record), mem at T0
  // written as 5 then NaN, and cpu at T0 + 1 s once
  const records = [
    record(1, [[cpu, T0, 1], [mem, T0, 5], [cpu, T0, 4], [cpu, T0 + 1000, 2]]),
    record(2, [[cpu, T0, 9], [mem, T0, NaN]]),
  ];
  const minutes = new BucketAccumulator(60_000);
  for (const r of records) minutes.add(decodeSampleRecord(r.value), 0);
  // when the states are taken
  const states = minutes.states();
  // then cpu's minute counts two samples, 9 and 2; mem's minute, whose only sample was
  // replaced by NaN, is gone
  assert.equal(states.groups, 1);
  assert.deepEqual(
    [states.idLo[0], states.count[0], states.sum[0], states.min[0], states.max[0], states.lastValue[0]],
    [11, 2, 11, 2, 9, 2],
  );
  assert.equal(states.sketchEnds[0], 2, "two sketch keys, the replaced value's gone");
});
