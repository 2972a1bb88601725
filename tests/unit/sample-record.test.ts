import assert from "node:assert/strict";
import { encodePartitionRecords } from "../../domain/partition-records.ts";
import { SampleBatchBuilder, seriesWords } from "../../domain/sample-batch.ts";
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

/** `batch()` as the version before ("LKS1", u32 lengths and a u16 label count) wrote it. */
const V1_RECORD =
  "4c4b53310400000061636d6502000000beba1b4b2ffe356103000000637075020004000000686f737405000000776562" +
  "2d3104000000726f6f6d060000006bc3bc6368654dafc1a4e07bc1360200000075700000030000000000000001000000" +
  "000000000000000000008056febc784200108056febc78420000f158febc7842000000000000e03f000000000000f87f" +
  "000000000000f0ff";

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
}

Deno.test("sample record: given a record of the version before, when decoded, then it reads as it was written", () => {
  const decoded = decodeSampleRecord(hexBytes(V1_RECORD));
  assert.equal(decoded.tenant, "acme");
  assert.deepEqual(decoded.series.map((s) => [s.id.hex, s.metric, s.labels]), [
    ["6135fe2f4b1bbabe", "cpu", { host: "web-1", room: "küche" }],
    ["36c17be0a4c1af4d", "up", {}],
  ]);
  assert.deepEqual([...decoded.seriesIndex.subarray(0, 3)], [0, 1, 0]);
  assert.deepEqual([...decoded.timestamps.subarray(0, 3)], [
    1_700_000_000_000,
    1_700_000_000_001,
    1_700_000_010_000,
  ]);
  assert.deepEqual([...decoded.values.subarray(0, 3)], [0.5, NaN, -Infinity]);
  for (const cut of [20, 60, 100, 151]) {
    assert.throws(
      () => decodeSampleRecord(hexBytes(V1_RECORD).subarray(0, cut)),
      MalformedRecord,
      `cut at ${cut}`,
    );
  }
});

Deno.test("sample record: the current version writes one-byte lengths for short strings and is smaller", () => {
  const bytes = encodeSampleRecord(batch());
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "LKS2");
  // 152 bytes in the version before: the six lengths and two counts of the series take
  // one byte each (20 fewer), and the sample columns are padded to 8 again (4 more).
  assert.equal(bytes.length, 136);
  const labels = { long: "x".repeat(200), longer: "y".repeat(20_000) };
  const b = new SampleBatchBuilder("acme");
  b.addSample(b.addSeries({ id: seriesId("acme", "m", labels), metric: "m", labels }), 1, 1);
  const big = encodeSampleRecord(b.build());
  assert.deepEqual(decodeSampleRecord(big).series[0].labels, labels);
  for (const cut of [30, 40, 300, 20_250]) {
    assert.throws(() => decodeSampleRecord(big.subarray(0, cut)), MalformedRecord, `cut at ${cut}`);
  }
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

for (const words of ["the definitions", "the batch's id words"]) {
  Deno.test(`partition records: every sample lands in its series' partition (from ${words}), none lost, in order`, () => {
    const b = new SampleBatchBuilder("acme");
    const ids = [];
    for (let s = 0; s < 50; s++) {
      const labels = { i: String(s) };
      const def = { id: seriesId("acme", "m", labels), metric: "m", labels };
      // Half the series come with their encoding, as ingest's series cache gives them.
      ids.push(b.addSeries(s % 2 === 0 ? { ...def, wire: encodeSeriesDef(def) } : def));
    }
    for (let i = 0; i < 1000; i++) b.addSample(ids[(i * 7) % 50], i, i);
    const built = b.build();
    const records = encodePartitionRecords(
      words === "the definitions" ? built : b.build(seriesWords(built)),
      4,
    );
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
}

Deno.test("partition records: one partition gives exactly the bytes of encodeSampleRecord", () => {
  const original = batch();
  const [only] = encodePartitionRecords(original, 1);
  assert.deepEqual([...only.value], [...encodeSampleRecord(original)]);
});
