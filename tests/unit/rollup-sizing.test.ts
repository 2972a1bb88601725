/**
 * The rollup projection sizes each batch's group tables from the batch before it. That
 * may change allocation only: a batch planned after batches of another shape (so with
 * other table sizes, and with growth on the way) gives the same writes and state as the
 * same batch planned first.
 */
import assert from "node:assert/strict";
import { recordBatch } from "../../domain/ports/command-log.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { encodeSampleRecord } from "../../domain/sample-record.ts";
import { makeSeriesId } from "../../domain/series.ts";
import { rollupProjection } from "../../projections/rollup.ts";
import { seededRandom } from "../support/seeded-random.ts";

const T0 = Date.UTC(2026, 11, 1, 12);

/** A record of `series` series with `points` samples each, `stepMs` apart, some repeated. */
function record(offset: number, series: number, points: number, stepMs: number, seed: number) {
  const random = seededRandom(seed);
  const b = new SampleBatchBuilder("acme");
  for (let s = 0; s < series; s++) {
    const ix = b.addSeries({ id: makeSeriesId(s + 1, 7), metric: "cpu", labels: { host: `h${s}` } });
    for (let p = 0; p < points; p++) {
      const ts = T0 + p * stepMs;
      b.addSample(ix, ts, random.int(0, 1000) / 8);
      if (random.int(0, 20) === 0) b.addSample(ix, ts, random.int(0, 1000) / 8); // a repeat
    }
  }
  return {
    topic: "metrics.samples",
    partition: 0,
    offset,
    timestamp: T0,
    key: "acme",
    value: encodeSampleRecord(b.build()),
  };
}

Deno.test("rollup projection: a batch plans the same whatever batches came before it", () => {
  const probe = recordBatch("metrics.samples", 0, [
    record(100, 3_000, 1, 15_000, 1),
    record(101, 3_000, 1, 15_000, 2),
  ]);
  const now = T0 + 60_000;
  // On its own the tables start at a quarter of the samples and grow on the way.
  const alone = rollupProjection();
  const expected = alone.plan(probe, alone.initialState(), now);
  assert.equal(expected.writes.length, 2);
  // After a batch of few groups per sample (20 series, 400 points a second apart) they
  // start smaller still and grow more; after one of a group per sample (a point a minute)
  // they start at full size and never grow.
  for (const earlier of [record(10, 20, 400, 1_000, 3), record(11, 200, 200, 60_000, 4)]) {
    const after = rollupProjection();
    after.plan(recordBatch("metrics.samples", 0, [earlier]), after.initialState(), now);
    const planned = after.plan(probe, after.initialState(), now);
    assert.deepEqual(planned.writes, expected.writes);
    assert.deepEqual(planned.state, expected.state);
  }
});
