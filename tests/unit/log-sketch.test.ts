import assert from "node:assert/strict";
import {
  ALPHA,
  GAMMA,
  LogSketch,
  logSketchKey,
  logSketchValue,
  MAX_KEY,
  MIN_MAGNITUDE,
  OFFSET,
  percentileQuantile,
  PERCENTILES,
} from "../../domain/log-sketch.ts";
import { seededRandom } from "../support/seeded-random.ts";

/** The guarantee stated in the module doc: ALPHA plus float slack at bucket edges. */
const BOUND = ALPHA * (1 + 1e-12);

const bits = new DataView(new ArrayBuffer(8));
function ulpStep(x: number, steps: number): number {
  bits.setFloat64(0, x);
  bits.setBigUint64(0, bits.getBigUint64(0) + BigInt(steps));
  return bits.getFloat64(0);
}

function staleMarker(): number {
  bits.setBigUint64(0, 0x7ff0000000000002n);
  return bits.getFloat64(0);
}

/** The element the module doc says quantile(q) answers: 0-based rank ⌊fl(q·(n−1))⌋. */
function orderStatistic(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function assertWithinBound(estimate: number, exact: number, context: string): void {
  const allowed = Math.abs(exact) < MIN_MAGNITUDE ? MIN_MAGNITUDE : BOUND * Math.abs(exact);
  assert.ok(
    Math.abs(estimate - exact) <= allowed,
    `${context}: estimate ${estimate} vs exact ${exact} exceeds ${allowed}`,
  );
}

Deno.test("constants: derived from ALPHA and MIN_MAGNITUDE as the SQL side computes them", () => {
  assert.equal(GAMMA, 1.01 / 0.99);
  assert.equal(OFFSET, 1037);
  assert.equal(MAX_KEY, 36525);
  assert.deepEqual(PERCENTILES, [0.5, 0.9, 0.95, 0.99]);
});

Deno.test("logSketchKey: edge values map to the keys ClickHouse computes for them", () => {
  // Expected keys were computed by chDB 26.7 with the SQL mapping, not by this module.
  const steps: [value: number, key: number][] = [
    [0, 0],
    [-0, 0],
    [1e-10, 0],
    [-1e-10, 0],
    [5e-324, 0],
    [1e-9, 1],
    [-1e-9, -1],
    [1, 1037],
    [-1, -1037],
    [0.5, 1003],
    [1000, 1383],
    [1e300, 35575],
    [-1e300, -35575],
    [Infinity, 36525],
    [-Infinity, -36525],
    [Number.MAX_VALUE, 36525],
    [-Number.MAX_VALUE, -36525],
  ];
  for (const [value, key] of steps) assert.equal(logSketchKey(value), key, `key of ${value}`);
});

Deno.test("logSketchKey: a bucket is (GAMMA^(i−1), GAMMA^i], closed at the top", () => {
  assert.equal(logSketchKey(GAMMA), OFFSET + 1);
  assert.equal(logSketchKey(ulpStep(GAMMA, 1)), OFFSET + 2);
  assert.equal(logSketchKey(ulpStep(1, 1)), OFFSET + 1);
  assert.equal(logSketchKey(ulpStep(MIN_MAGNITUDE, -1)), 0);
});

Deno.test("logSketchValue: zero, signs and the clamped end keys", () => {
  assert.equal(logSketchValue(0), 0);
  assert.ok(Math.abs(logSketchValue(OFFSET) - (1 - ALPHA)) < 1e-15, "key of 1 stands for 1 − ALPHA");
  for (const key of [1, 500, OFFSET, 20_000, MAX_KEY - 1]) {
    assert.equal(logSketchValue(-key), -logSketchValue(key));
  }
  assert.ok(Number.isFinite(logSketchValue(MAX_KEY - 1)));
  assert.equal(logSketchValue(MAX_KEY), Infinity);
  assert.equal(logSketchValue(-MAX_KEY), -Infinity);
});

Deno.test("logSketchValue: every key's value maps back to that key and equals 2·GAMMA^i/(GAMMA+1)", () => {
  let literalOverflows = 0;
  // Key 1 is cut at MIN_MAGNITUDE, so its value lies just below it (yet within ALPHA).
  assert.equal(logSketchKey(logSketchValue(1)), 0);
  for (let key = 2; key < MAX_KEY; key++) {
    const value = logSketchValue(key);
    assert.equal(logSketchKey(value), key, `value of key ${key}`);
    const literal = 2 * Math.pow(GAMMA, key - OFFSET) / (GAMMA + 1);
    if (Number.isFinite(literal)) assert.equal(value, literal, `key ${key}`);
    else literalOverflows++;
  }
  // The doubled form overflows for the top keys; ours stays finite there.
  assert.equal(literalOverflows, 34);
});

Deno.test("error bound: every value near every bucket edge is within ALPHA of its key's value", () => {
  let worst = 0;
  for (let i = -1036; i <= MAX_KEY - OFFSET; i++) {
    const edge = Math.pow(GAMMA, i);
    let previousKey = -Infinity;
    for (let step = -8; step <= 8; step++) {
      const value = ulpStep(edge, step);
      if (value < MIN_MAGNITUDE || !Number.isFinite(value)) continue;
      const key = logSketchKey(value);
      assert.ok(key >= previousKey, `keys not monotone at ${value}`);
      previousKey = key;
      if (key === MAX_KEY) continue;
      const error = Math.abs(logSketchValue(key) - value) / value;
      assert.ok(error <= BOUND, `relative error ${error} at ${value}`);
      worst = Math.max(worst, error);
    }
  }
  // The bound is tight: bucket edges reach it, so a wider bucket would fail above.
  assert.ok(worst > ALPHA * (1 - 1e-9), `worst error ${worst}`);
});

Deno.test("logSketchKey: monotone over a sorted random sample of both signs and all magnitudes", () => {
  const random = seededRandom(7).next;
  const values = Array.from({ length: 50_000 }, () => {
    const magnitude = Math.pow(10, random() * 640 - 330);
    return random() < 0.5 ? -magnitude : magnitude;
  });
  values.push(0, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE);
  values.sort((a, b) => a - b);
  let previous = -Infinity;
  for (const value of values) {
    const key = logSketchKey(value);
    assert.ok(key >= previous, `key ${key} of ${value} is below ${previous}`);
    assert.ok(Number.isInteger(key) && Math.abs(key) <= MAX_KEY && (key | 0) === key, "Int32 key");
    previous = key;
  }
});

Deno.test("add: NaN and the Prometheus stale marker are ignored", () => {
  // given
  const sketch = new LogSketch();
  // when
  sketch.add(NaN);
  sketch.add(staleMarker(), 3);
  // then
  assert.equal(sketch.count, 0);
  assert.equal(sketch.size, 0);
  assert.ok(Number.isNaN(sketch.quantile(0.5)));
  sketch.add(2);
  assert.equal(sketch.count, 1);
});

Deno.test("add: a count adds the value that many times", () => {
  const once = new LogSketch();
  for (let i = 0; i < 5; i++) once.add(3.5);
  once.add(-2);
  const counted = new LogSketch();
  counted.add(3.5, 5);
  counted.add(-2);
  assert.deepEqual(counted.toEntries(), once.toEntries());
  assert.equal(counted.count, 6);
});

Deno.test("quantile: answers the order statistic at ⌊fl(q·(n−1))⌋", () => {
  // given 1, 2, …, 101: rank q·100, and 0.29·100 is 28.999999999999996 in float64
  const sketch = new LogSketch();
  for (let v = 1; v <= 101; v++) sketch.add(v);
  const steps: [q: number, element: number][] = [
    [0, 1],
    [0.29, 29],
    [0.5, 51],
    [0.999, 100],
    [1, 101],
  ];
  for (const [q, element] of steps) {
    assert.equal(sketch.quantile(q), logSketchValue(logSketchKey(element)), `q = ${q}`);
  }
  assert.notEqual(logSketchKey(29), logSketchKey(30));
});

Deno.test("quantile: empty is NaN, one value answers every q, zeros and infinities", () => {
  assert.ok(Number.isNaN(new LogSketch().quantile(0.5)));
  const one = new LogSketch();
  one.add(-42);
  for (const q of [0, 0.5, 1]) assertWithinBound(one.quantile(q), -42, `q = ${q}`);
  const mixed = new LogSketch();
  for (const v of [-Infinity, 0, 1e-12, Infinity]) mixed.add(v);
  assert.deepEqual(mixed.quantiles([0, 0.34, 0.67, 1]), [-Infinity, 0, 0, Infinity]);
});

Deno.test("quantiles: one pass gives the same answers as separate calls, in any order", () => {
  const random = seededRandom(11).next;
  const sketch = new LogSketch();
  for (let i = 0; i < 1000; i++) sketch.add(random() * 100 - 20);
  const qs = [0.99, 0, 0.5, 1, 0.9, 0.95, 0.01];
  assert.deepEqual(sketch.quantiles(qs), qs.map((q) => sketch.quantile(q)));
});

type Distribution = (random: () => number) => number;
const DISTRIBUTIONS: Record<string, Distribution> = {
  uniform: (random) => random() * 1000,
  exponential: (random) => -Math.log(1 - random()) * 50,
  negative: (random) => Math.log(1 - random()) * 3,
  "mixed sign with zeros": (random) =>
    random() < 0.1 ? 0 : (random() - 0.5) * Math.pow(10, random() * 12 - 6),
  "wide magnitudes": (random) => Math.pow(10, random() * 600 - 300),
  "below MIN_MAGNITUDE": (random) => (random() - 0.5) * 4e-9,
};

Deno.test("quantile: error bound holds on random data of every shape", () => {
  const random = seededRandom(2024).next;
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    for (let workload = 0; workload < 40; workload++) {
      // given
      const n = 1 + Math.floor(random() * 2000);
      const values = Array.from({ length: n }, () => draw(random));
      const sketch = new LogSketch();
      for (const v of values) sketch.add(v);
      const sorted = [...values].sort((a, b) => a - b);
      // when / then
      for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1, random()]) {
        assertWithinBound(sketch.quantile(q), orderStatistic(sorted, q), `${name} n=${n} q=${q}`);
      }
    }
  }
});

Deno.test("merge: merging sketches of any split equals adding every value to one sketch", () => {
  const random = seededRandom(99).next;
  const draws = Object.values(DISTRIBUTIONS);
  for (let workload = 0; workload < 200; workload++) {
    // given values split at random into 1–6 parts
    const n = Math.floor(random() * 500);
    const draw = draws[workload % draws.length];
    const whole = new LogSketch();
    const parts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => new LogSketch());
    for (let i = 0; i < n; i++) {
      const v = draw(random);
      whole.add(v);
      parts[Math.floor(random() * parts.length)].add(v);
    }
    // when merged in a random order
    parts.sort(() => random() - 0.5);
    const merged = new LogSketch();
    for (const part of parts) merged.merge(part);
    // then
    assert.deepEqual(merged.toEntries(), whole.toEntries());
    assert.equal(merged.count, n);
    assert.deepEqual(merged.quantiles([...PERCENTILES]), whole.quantiles([...PERCENTILES]));
  }
});

Deno.test("merge: the merged-in sketch is unchanged, and clone is independent", () => {
  const a = new LogSketch();
  a.add(1);
  const b = new LogSketch();
  b.add(1000);
  a.merge(b);
  assert.deepEqual(b.toEntries(), [[logSketchKey(1000)], [1]]);
  const copy = a.clone();
  copy.add(5);
  assert.equal(a.count, 2);
  assert.equal(copy.count, 3);
});

Deno.test("toEntries/fromEntries: sorted keys round-trip; repeated keys add up", () => {
  // given
  const sketch = new LogSketch();
  for (const v of [5, -3, 0, 5, 1e-12, 1e12]) sketch.add(v);
  // when
  const [keys, counts] = sketch.toEntries();
  // then
  assert.deepEqual(keys, [logSketchKey(-3), 0, logSketchKey(5), logSketchKey(1e12)]);
  assert.deepEqual(counts, [1, 2, 2, 1]);
  assert.deepEqual(LogSketch.fromEntries(keys, counts).toEntries(), [keys, counts]);
  const repeated = LogSketch.fromEntries(new Int32Array([7, 7, -1]), [2, 3, 1]);
  assert.deepEqual(repeated.toEntries(), [[-1, 7], [1, 5]]);
  assert.equal(repeated.count, 6);
  assert.throws(() => LogSketch.fromEntries([1, 2], [1]), /2 keys but 1 counts/);
});

Deno.test("percentileQuantile: names map to PERCENTILES in order", () => {
  assert.deepEqual((["p50", "p90", "p95", "p99"] as const).map(percentileQuantile), [...PERCENTILES]);
});
