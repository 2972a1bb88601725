import assert from "node:assert/strict";
import { encodePartitionRecords } from "../../domain/partition-records.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import {
  decodeSampleRecord,
  encodeSampleRecord,
  encodeSeriesDef,
  MalformedRecord,
} from "../../domain/sample-record.ts";
import { partitionOf, seriesId } from "../../domain/series.ts";

function batch() {
  const b = new SampleBatchBuilder("acme", 2);
  const labels = { host: "web-1", room: "küche" };
  const s0 = b.addSeries({ id: seriesId("acme", "cpu", labels), metric: "cpu", labels });
  const s1 = b.addSeries({ id: seriesId("acme", "up", {}), metric: "up", labels: {} });
  b.addSample(s0, 1_700_000_000_000, 0.5);
  b.addSample(s1, 1_700_000_000_001, NaN);
  b.addSample(s0, 1_700_000_010_000, -Infinity);
  return b.build();
}

Deno.test("sample record: a batch survives encode and decode bit for bit", () => {
  const original = batch();
  const decoded = decodeSampleRecord(encodeSampleRecord(original));
  assert.equal(decoded.tenant, "acme");
  assert.equal(decoded.length, 3);
  assert.deepEqual(
    decoded.series.map((s) => [s.id.hex, s.metric, s.labels]),
    original.series.map((s) => [s.id.hex, s.metric, s.labels]),
  );
  assert.deepEqual([...decoded.seriesIds!], original.series.flatMap((s) => [s.id.lo, s.id.hi]));
  assert.deepEqual([...decoded.seriesIndex.subarray(0, 3)], [0, 1, 0]);
  assert.deepEqual([...decoded.timestamps.subarray(0, 3)], [
    1_700_000_000_000,
    1_700_000_000_001,
    1_700_000_010_000,
  ]);
  assert.ok(Number.isNaN(decoded.values[1]));
  assert.equal(decoded.values[0], 0.5);
  assert.equal(decoded.values[2], -Infinity);
});

Deno.test("sample record: long, empty and non-ASCII names and values survive encoding", () => {
  const b = new SampleBatchBuilder("t\u00e9nant");
  const labels = {
    long: "x".repeat(300),
    empty: "",
    mixed: "abc\u00fc\u{1F600}def",
    ascii64: "a".repeat(64),
  };
  const s = b.addSeries({ id: seriesId("t\u00e9nant", "m", labels), metric: "m", labels });
  b.addSample(s, 1, 1);
  const decoded = decodeSampleRecord(encodeSampleRecord(b.build()));
  assert.equal(decoded.tenant, "t\u00e9nant");
  assert.deepEqual(decoded.series[0].labels, labels);
});

Deno.test("sample record: the Prometheus stale marker keeps its exact NaN bits", () => {
  const b = new SampleBatchBuilder("acme");
  const s = b.addSeries({ id: seriesId("acme", "up", {}), metric: "up", labels: {} });
  const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
  b.addSample(s, 1, stale);
  const decoded = decodeSampleRecord(encodeSampleRecord(b.build()));
  assert.equal(new BigUint64Array(decoded.values.buffer)[0], 0x7ff0000000000002n);
});

Deno.test("sample record: garbage and truncation are MalformedRecord, never a crash", () => {
  const bytes = encodeSampleRecord(batch());
  assert.throws(() => decodeSampleRecord(new Uint8Array([1, 2, 3, 4, 5])), MalformedRecord);
  for (const cut of [3, 10, 40, bytes.length - 1]) {
    assert.throws(() => decodeSampleRecord(bytes.subarray(0, cut)), MalformedRecord, `cut at ${cut}`);
  }
  const corrupt = bytes.slice();
  corrupt.set([0xff, 0xff, 0xff, 0x7f], 4); // tenant length far past the end
  assert.throws(() => decodeSampleRecord(corrupt), MalformedRecord);
});

Deno.test("partition records: every sample lands in its series' partition, none lost, in order", () => {
  const b = new SampleBatchBuilder("acme");
  const ids = [];
  for (let s = 0; s < 50; s++) {
    const labels = { i: String(s) };
    const def = { id: seriesId("acme", "m", labels), metric: "m", labels };
    // Half the series come with their encoding, as ingest's series cache gives them.
    ids.push(b.addSeries(s % 2 === 0 ? { ...def, wire: encodeSeriesDef(def) } : def));
  }
  for (let i = 0; i < 1000; i++) b.addSample(ids[(i * 7) % 50], i, i);
  const records = encodePartitionRecords(b.build(), 4, (def) => partitionOf(def.id, 4));
  let total = 0;
  const seen = new Set<number>();
  for (const { partition, value } of records) {
    const part = decodeSampleRecord(value);
    let previous = -1;
    for (let i = 0; i < part.length; i++) {
      const def = part.series[part.seriesIndex[i]];
      assert.equal(partitionOf(def.id, 4), partition);
      assert.equal(def.labels.i, String((part.values[i] * 7) % 50));
      assert.ok(part.values[i] > previous, "samples keep their order");
      previous = part.values[i];
      seen.add(part.values[i]);
    }
    total += part.length;
  }
  assert.equal(records.length, 4);
  assert.deepEqual(records.map((r) => r.partition), [
    ...new Set(ids.map((_, s) => partitionOf(b.series[s].id, 4))),
  ]);
  assert.equal(total, 1000);
  assert.equal(seen.size, 1000);
});

Deno.test("partition records: one partition gives exactly the bytes of encodeSampleRecord", () => {
  const original = batch();
  const [only] = encodePartitionRecords(original, 1, () => 0);
  assert.deepEqual([...only.value], [...encodeSampleRecord(original)]);
});
