import assert from "node:assert/strict";
import { ALPHA, logSketchKey, logSketchValue } from "../../domain/log-sketch.ts";
import {
  addSample,
  addSamples,
  avg,
  bucketStart,
  emptyRollup,
  mergeRollup,
  mergeRollupInto,
  percentile,
  type RollupState,
  tierMs,
} from "../../domain/rollup.ts";
import { seededRandom } from "../support/seeded-random.ts";

function staleMarker(): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, 0x7ff0000000000002n);
  return view.getFloat64(0);
}

function rollupOf(samples: readonly [ts: number, v: number][]): RollupState {
  const state = emptyRollup();
  for (const [ts, v] of samples) addSample(state, ts, v);
  return state;
}

/** Every field compared exactly, the sketch by its entries. */
function snapshot(state: RollupState) {
  const { count, sum, min, max, lastTs, lastValue } = state;
  return { count, sum, min, max, lastTs, lastValue, sketch: state.sketch.toEntries() };
}

Deno.test("addSamples: aggregates a columnar slice", () => {
  // given
  const timestamps = new Float64Array([1000, 3000, 2000, 4000, 5000]);
  const values = new Float64Array([9, 1.5, -0.25, 4, 100]);
  const state = emptyRollup();
  // when only samples 0..3 are taken
  addSamples(state, timestamps, values, 0, 4);
  // then
  assert.deepEqual(snapshot(state), {
    count: 4,
    sum: 14.25,
    min: -0.25,
    max: 9,
    lastTs: 4000,
    lastValue: 4,
    sketch: rollupOf([[0, -0.25], [0, 1.5], [0, 4], [0, 9]]).sketch.toEntries(),
  });
  assert.equal(avg(state), 14.25 / 4);
});

Deno.test("emptyRollup: identities of each merge, NaN readers", () => {
  const empty = emptyRollup();
  assert.deepEqual(snapshot(empty), {
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
    lastTs: -Infinity,
    lastValue: NaN,
    sketch: [[], []],
  });
  assert.ok(Number.isNaN(avg(empty)));
  assert.ok(Number.isNaN(percentile(empty, "p50")));
});

Deno.test("NaN samples, the stale marker included, are ignored by every aggregate", () => {
  // given a stale marker at the latest timestamp
  const state = rollupOf([[1000, 2], [2000, NaN], [3000, staleMarker()], [1500, 3]]);
  // then nothing of it shows
  assert.deepEqual(snapshot(state), snapshot(rollupOf([[1000, 2], [1500, 3]])));
  assert.equal(state.lastTs, 1500);
  assert.equal(state.count, 2);
  const onlyStale = rollupOf([[1000, staleMarker()]]);
  assert.deepEqual(snapshot(onlyStale), snapshot(emptyRollup()));
});

Deno.test("infinities are counted; sum, min and max follow IEEE; the sketch clamps them", () => {
  const five = logSketchValue(logSketchKey(5));
  const steps: [
    samples: [number, number][],
    sum: number,
    min: number,
    max: number,
    p50: number,
    top: number,
  ][] = [
    [[[1, 5], [2, Infinity]], Infinity, 5, Infinity, five, Infinity],
    [[[1, -Infinity], [2, 5]], -Infinity, -Infinity, 5, -Infinity, five],
    [[[1, Infinity], [2, -Infinity]], NaN, -Infinity, Infinity, -Infinity, Infinity],
  ];
  for (const [samples, sum, min, max, p50, top] of steps) {
    const state = rollupOf(samples);
    assert.equal(state.count, samples.length);
    assert.equal(state.sum, sum);
    assert.equal(state.min, min);
    assert.equal(state.max, max);
    assert.equal(percentile(state, "p50"), p50);
    assert.equal(state.sketch.quantile(1), top);
  }
});

Deno.test("last: greatest timestamp wins; on a tie the greater value, whatever the order", () => {
  const steps: [samples: [number, number][], lastTs: number, lastValue: number][] = [
    [[[3000, 1], [1000, 9]], 3000, 1],
    [[[1000, 9], [3000, 1]], 3000, 1],
    [[[2000, 1], [2000, 7], [2000, 3]], 2000, 7],
    [[[2000, 7], [2000, 1]], 2000, 7],
    [[[2000, -Infinity], [2000, -5]], 2000, -5],
    [[[2000, 0], [2000, -0]], 2000, 0],
    [[[2000, -0], [2000, 0]], 2000, 0],
  ];
  for (const [samples, lastTs, lastValue] of steps) {
    const forward = rollupOf(samples);
    assert.equal(forward.lastTs, lastTs);
    assert.equal(forward.lastValue, lastValue, JSON.stringify(samples));
    const merged = samples.map(([ts, v]) => rollupOf([[ts, v]])).reduceRight((a, b) => mergeRollup(a, b));
    assert.equal(merged.lastValue, lastValue, `merged ${JSON.stringify(samples)}`);
  }
});

Deno.test("mergeRollup: commutative and associative over random partitions, equal to all at once", () => {
  const random = seededRandom(31337).next;
  for (let workload = 0; workload < 300; workload++) {
    // given samples on multiples of 0.25 (sums are exact), tied timestamps, some NaN and ±Inf
    const n = Math.floor(random() * 200);
    const samples: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const ts = 1_700_000_000_000 + Math.floor(random() * 50) * 1000;
      const roll = random();
      const v = roll < 0.03
        ? NaN
        : roll < 0.04
        ? (random() < 0.5 ? Infinity : -Infinity)
        : Math.floor(random() * 8000 - 4000) / 4;
      samples.push([ts, v]);
    }
    const whole = rollupOf(samples);
    const parts: [number, number][][] = Array.from({ length: 1 + Math.floor(random() * 7) }, () => []);
    for (const sample of samples) parts[Math.floor(random() * parts.length)].push(sample);
    const states = parts.map(rollupOf);
    const expected = snapshot(whole);

    // when folded left, folded right, and merged in a random order and tree shape
    const left = states.reduce((a, b) => mergeRollup(a, b), emptyRollup());
    const right = states.reduceRight((a, b) => mergeRollup(b, a), emptyRollup());
    const pool = [...states];
    while (pool.length > 1) {
      const a = pool.splice(Math.floor(random() * pool.length), 1)[0];
      const b = pool.splice(Math.floor(random() * pool.length), 1)[0];
      pool.push(random() < 0.5 ? mergeRollup(a, b) : mergeRollup(b, a));
    }

    // then
    assert.deepEqual(snapshot(left), expected);
    assert.deepEqual(snapshot(right), expected);
    assert.deepEqual(snapshot(pool[0]), expected);
    const reference = samples.filter(([, v]) => !Number.isNaN(v))
      .reduce<[number, number] | undefined>(
        (best, s) => !best || s[0] > best[0] || (s[0] === best[0] && s[1] > best[1]) ? s : best,
        undefined,
      );
    if (reference) assert.deepEqual([whole.lastTs, whole.lastValue], reference);
  }
});

Deno.test("mergeRollup: inputs unchanged; mergeRollupInto changes only the target", () => {
  // given
  const a = rollupOf([[1000, 1], [2000, 2]]);
  const b = rollupOf([[3000, -4]]);
  const before = [snapshot(a), snapshot(b)];
  // when
  const merged = mergeRollup(a, b);
  // then
  assert.deepEqual([snapshot(a), snapshot(b)], before);
  assert.equal(merged.count, 3);
  mergeRollupInto(a, b);
  assert.deepEqual(snapshot(a), snapshot(merged));
  assert.deepEqual(snapshot(b), before[1]);
  assert.deepEqual(snapshot(mergeRollup(emptyRollup(), b)), snapshot(b));
});

Deno.test("percentile: each name reads its quantile within the sketch's error", () => {
  // given 1..1000 shuffled
  const random = seededRandom(5).next;
  const values = Array.from({ length: 1000 }, (_, i) => i + 1).sort(() => random() - 0.5);
  const state = emptyRollup();
  addSamples(state, new Float64Array(values.length), new Float64Array(values), 0, values.length);
  // then rank ⌊q·999⌋ of 1..1000 is the value ⌊q·999⌋ + 1
  const steps: [name: "p50" | "p90" | "p95" | "p99", exact: number][] = [
    ["p50", 500],
    ["p90", 900],
    ["p95", 950],
    ["p99", 990],
  ];
  for (const [name, exact] of steps) {
    const estimate = percentile(state, name);
    assert.equal(estimate, logSketchValue(logSketchKey(exact)), name);
    assert.ok(Math.abs(estimate - exact) <= ALPHA * exact, name);
  }
});

Deno.test("tierMs and bucketStart: epoch-aligned floors, also below the epoch", () => {
  assert.equal(tierMs("1m"), 60_000);
  assert.equal(tierMs("1h"), 3_600_000);
  const steps: [ts: number, width: number, start: number][] = [
    [0, 60_000, 0],
    [59_999, 60_000, 0],
    [60_000, 60_000, 60_000],
    [1_700_000_012_345, 60_000, 1_699_999_980_000],
    [1_700_000_012_345, 3_600_000, 1_699_999_200_000],
    [1_699_999_200_000, 3_600_000, 1_699_999_200_000],
    [-1, 60_000, -60_000],
    [-60_000, 60_000, -60_000],
    [-60_001, 60_000, -120_000],
  ];
  for (const [ts, width, start] of steps) {
    assert.equal(bucketStart(ts, width), start, `bucketStart(${ts}, ${width})`);
  }
});
