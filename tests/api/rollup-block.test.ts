/**
 * The rollup projection writes `last` as ClickHouse's own argMax state, built in
 * TypeScript: its bytes must equal what the engine's `argMaxState` produces, and a block
 * inserted through `rollupInsert` must read back as the states it was built from.
 */
import assert from "node:assert/strict";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { makeSeriesId } from "../../domain/series.ts";
import { BucketAccumulator, coarsenBuckets } from "../../projections/bucket-states.ts";
import { rollupBlock, rollupInsert } from "../../projections/rollup-block.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";

const hex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();

Deno.test("rollup block: last states are byte for byte the engine's argMaxState", async () => {
  const store = await sharedStore();
  // given last samples with negative, small and large timestamps and special values
  const cases: [number, number][] = [
    [1_700_000_000_123, 1.5],
    [-1, 2],
    [0, -0.25],
    [4_102_444_800_000, -1e300],
    [1_700_000_000_000, Infinity],
    [-86_400_001, -Infinity],
  ];
  for (const [ts, value] of cases) {
    const b = new SampleBatchBuilder("t");
    b.addSample(b.addSeries({ id: makeSeriesId(1, 2), metric: "m", labels: {} }), ts, value);
    const minutes = new BucketAccumulator(60_000);
    minutes.add(b.build(), 0);
    const block = rollupBlock(minutes.states());
    const last = block.columns.find((c) => c.name === "last")!.data as Uint8Array;
    // when the engine builds the same state
    const [engine] = await store.query<{ h: string }>(
      `SELECT hex(argMaxState(v, (fromUnixTimestamp64Milli(toInt64(t)), v))) AS h
       FROM (SELECT {t:Int64} AS t, {v:Float64} AS v)`,
      { t: ts, v: String(value).replace("Infinity", "inf") },
    );
    // then the bytes agree
    assert.equal(hex(last), engine.h, `last state of (${ts}, ${value})`);
  }
});

Deno.test("rollup block: an inserted block reads back as the states it was built from", async () => {
  const store = await sharedStore();
  const tenant = uniqueName("block");
  const base = Date.UTC(2026, 10, 30, 23, 58);
  const b = new SampleBatchBuilder(tenant);
  const s = [
    b.addSeries({ id: makeSeriesId(5, 6), metric: "m", labels: {} }),
    b.addSeries({ id: makeSeriesId(7, 8), metric: "m", labels: {} }),
  ];
  for (let i = 0; i < 300; i++) b.addSample(s[i % 2], base + i * 1000, (i % 37) - 10);
  const minutes = new BucketAccumulator(60_000);
  minutes.add(b.build(), 0);
  const states = minutes.states();
  const hours = coarsenBuckets(states, 3_600_000);
  for (const [table, tier] of [["rollup_1m", states], ["rollup_1h", hours]] as const) {
    await store.insertBlock(rollupBlock(tier), [rollupInsert(table, [tenant], `${tenant}:${table}`)]);
    const rows = await store.query<Record<string, number | string>>(
      `SELECT toString(series_id) AS id, toUnixTimestamp(bucket) AS b, sum(count) AS n, sum(sum) AS total,
         min(min) AS lo, max(max) AS hi, argMaxMerge(last) AS last, toString(sumMap(sketch)) AS sketch
       FROM ${table} WHERE tenant = {tenant:String} GROUP BY series_id, bucket ORDER BY series_id, bucket`,
      { tenant },
    );
    const want = [];
    for (let g = 0; g < tier.groups; g++) {
      const from = g === 0 ? 0 : tier.sketchEnds[g - 1];
      const keys = [...tier.sketchKeys.subarray(from, tier.sketchEnds[g])];
      const counts = [...tier.sketchCounts.subarray(from, tier.sketchEnds[g])];
      want.push({
        id: String(tier.idHi[g] * 2 ** 32 + tier.idLo[g]),
        b: tier.bucket[g] * tier.widthMs / 1000,
        n: tier.count[g],
        total: tier.sum[g],
        lo: tier.min[g],
        hi: tier.max[g],
        last: tier.lastValue[g],
        sketch: `([${keys.join(",")}],[${counts.join(",")}])`,
      });
    }
    want.sort((x, y) => x.id.localeCompare(y.id) || x.b - y.b);
    assert.ok(want.length >= 4, `${table}: several groups`);
    assert.deepEqual(rows.map((r) => ({ ...r, n: Number(r.n) })), want, table);
  }
});
