import assert from "node:assert/strict";
import { LogSketch } from "../../domain/log-sketch.ts";
import { addSample, bucketStart, emptyRollup, type RollupState } from "../../domain/rollup.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { makeSeriesId, type SeriesDef } from "../../domain/series.ts";
import { BucketAccumulator, type BucketStates, coarsenBuckets } from "../../projections/bucket-states.ts";
import { seededRandom } from "../support/seeded-random.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Sample {
  tenant: number;
  series: number;
  ts: number;
  value: number;
}

/** Series 0 and 1 share an id in different tenants, so only the tenant tells their groups apart. */
const IDS = [
  makeSeriesId(7, 9),
  makeSeriesId(7, 9),
  makeSeriesId(0xffffffff, 0x80000000),
  makeSeriesId(1, 0),
];
const TENANT_OF = [0, 1, 0, 0];

function def(s: number): SeriesDef {
  return { id: IDS[s], metric: "m", labels: { s: String(s) } };
}

/**
 * The sample policy: of samples for one series and timestamp, the one written last. It
 * takes the place of the first counted one, the order sums are added in (a NaN never
 * counted holds no place).
 */
function lastWritten(samples: readonly Sample[]): Sample[] {
  const last = new Map<string, Sample>();
  const counted = new Set<string>();
  for (const s of samples) {
    const key = `${s.tenant}/${s.series}/${s.ts}`;
    if (!counted.has(key)) last.delete(key);
    last.set(key, s);
    if (!Number.isNaN(s.value)) counted.add(key);
  }
  return [...last.values()];
}

/** Oracle: one domain RollupState per (tenant, id, bucket start) of the last written samples. */
function oracle(samples: readonly Sample[], widthMs: number): Map<string, RollupState> {
  const states = new Map<string, RollupState>();
  for (const { tenant, series, ts, value } of lastWritten(samples)) {
    if (Number.isNaN(value)) continue;
    const key = `${tenant}/${IDS[series].lo}/${IDS[series].hi}/${bucketStart(ts, widthMs)}`;
    let state = states.get(key);
    if (!state) states.set(key, state = emptyRollup());
    addSample(state, ts, value);
  }
  return states;
}

function asMap(states: BucketStates): Map<string, RollupState> {
  const out = new Map<string, RollupState>();
  for (let g = 0; g < states.groups; g++) {
    const key = `${states.tenantIx[g]}/${states.idLo[g]}/${states.idHi[g]}/${
      states.bucket[g] * states.widthMs
    }`;
    assert.ok(!out.has(key), `group ${key} appears once`);
    const state = emptyRollup();
    state.count = states.count[g];
    state.sum = states.sum[g];
    state.min = states.min[g];
    state.max = states.max[g];
    state.lastTs = states.lastTs[g];
    state.lastValue = states.lastValue[g];
    const from = g === 0 ? 0 : states.sketchEnds[g - 1];
    const keys = states.sketchKeys.subarray(from, states.sketchEnds[g]);
    for (let i = 1; i < keys.length; i++) {
      assert.ok(keys[i - 1] < keys[i], `${key}: keys ascending, once each`);
    }
    state.sketch = LogSketch.fromEntries(keys, states.sketchCounts.subarray(from, states.sketchEnds[g]));
    out.set(key, state);
  }
  return out;
}

function snapshot(states: Map<string, RollupState>) {
  return new Map(
    [...states].map(([key, s]) => [key, {
      count: s.count,
      sum: s.sum,
      min: s.min,
      max: s.max,
      lastTs: s.lastTs,
      lastValue: Object.is(s.lastValue, -0) ? "-0" : s.lastValue,
      sketch: s.sketch.toEntries(),
    }]),
  );
}

function workload(seed: number): Sample[] {
  const random = seededRandom(seed);
  const base = Date.UTC(2026, 10, 30, 22, 50);
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-12, -3.5, 1e300];
  const samples: Sample[] = [];
  for (let i = 0; i < 3000; i++) {
    const series = random.int(0, IDS.length - 1);
    const ts = base + random.int(0, 40) * 30_000 + (random.next() < 0.2 ? 0 : random.int(0, 999));
    const value = random.next() < 0.05
      ? specials[random.int(0, specials.length - 1)]
      : random.int(-400, 4000) / 4;
    samples.push({ tenant: TENANT_OF[series], series, ts, value });
    if (random.next() < 0.05) samples.push({ tenant: TENANT_OF[series], series, ts, value: value + 1 });
  }
  return samples;
}

/** The samples as records of at most 40 samples each, one tenant per record. */
function records(
  samples: readonly Sample[],
): { tenant: number; batch: ReturnType<SampleBatchBuilder["build"]> }[] {
  const out = [];
  for (let start = 0; start < samples.length; start += 40) {
    for (const tenant of [0, 1]) {
      const b = new SampleBatchBuilder(`t${tenant}`, 4);
      const index = new Map<number, number>();
      for (const s of samples.slice(start, start + 40)) {
        if (s.tenant !== tenant) continue;
        if (!index.has(s.series)) index.set(s.series, b.addSeries(def(s.series)));
        b.addSample(index.get(s.series)!, s.ts, s.value);
      }
      if (b.length > 0) out.push({ tenant, batch: b.build() });
    }
  }
  return out;
}

Deno.test("bucket states: every (tenant, series, minute) equals the domain rollup of its samples", () => {
  for (const seed of [1, 2, 3]) {
    // given records of two tenants, NaN, infinities, ±0 and timestamps written again,
    // in the same record and in later ones, with another value or NaN
    const samples = workload(seed);
    // when they are accumulated with a first allocation far too small
    const minutes = new BucketAccumulator(MINUTE, 8);
    for (const { tenant, batch } of records(samples)) minutes.add(batch, tenant);
    // then each group matches the oracle exactly, sketch entries included
    assert.deepEqual(snapshot(asMap(minutes.states())), snapshot(oracle(samples, MINUTE)), `seed ${seed}`);
  }
});

Deno.test("bucket states: hours merged from minutes equal hours built from the samples", () => {
  const samples = workload(4);
  const minutes = new BucketAccumulator(MINUTE);
  for (const { tenant, batch } of records(samples)) minutes.add(batch, tenant);
  const hours = coarsenBuckets(minutes.states(), HOUR);
  assert.ok(hours.groups > IDS.length, "the workload spans an hour boundary");
  assert.deepEqual(snapshot(asMap(hours)), snapshot(oracle(samples, HOUR)));
});

Deno.test("bucket states: only samples whose flag is selected count", () => {
  // given one record with every other sample flagged late
  const b = new SampleBatchBuilder("t0");
  const s = b.addSeries(def(2));
  const samples: Sample[] = [];
  for (let i = 0; i < 100; i++) {
    b.addSample(s, 1_000_000 + i * 1000, i);
    if (i % 2 === 0) samples.push({ tenant: 0, series: 2, ts: 1_000_000 + i * 1000, value: i });
  }
  const flags = Uint8Array.from({ length: 100 }, (_, i) => i % 2);
  const minutes = new BucketAccumulator(MINUTE);
  minutes.add(b.build(), 0, flags, 0);
  // then the others are absent, and a group of more than 24 keys is sorted too
  assert.deepEqual(snapshot(asMap(minutes.states())), snapshot(oracle(samples, MINUTE)));
});

Deno.test("bucket states: a bucket the table cannot hold is refused with the sample's time", () => {
  const b = new SampleBatchBuilder("t0");
  b.addSample(b.addSeries(def(3)), 2 ** 31 * MINUTE, 1);
  const minutes = new BucketAccumulator(MINUTE);
  assert.throws(() => minutes.add(b.build(), 0), /Cannot bucket a sample at 128849018880000 ms/);
});

Deno.test("bucket states: records repeating a series table carry on with its groups, others do not", () => {
  // given records with the same series table, one in another order, one of another tenant
  const samples: Sample[] = [];
  const all: { tenant: number; batch: ReturnType<SampleBatchBuilder["build"]> }[] = [];
  const tables = [[2, 3], [2, 3], [3, 2], [2, 3], [0, 2, 3], [1], [2, 3]];
  tables.forEach((table, r) => {
    const tenant = TENANT_OF[table[0]];
    const b = new SampleBatchBuilder(`t${tenant}`);
    const index = table.map((s) => b.addSeries(def(s)));
    for (let k = 0; k < 3; k++) {
      table.forEach((s, j) => {
        const ts = 1_000_000 + r * 25_000 + k * 1000 + j;
        b.addSample(index[j], ts, r * 10 + k + j);
        samples.push({ tenant, series: s, ts, value: r * 10 + k + j });
      });
    }
    all.push({ tenant, batch: b.build() });
  });
  // when they are accumulated
  const minutes = new BucketAccumulator(MINUTE);
  for (const { tenant, batch } of all) minutes.add(batch, tenant);
  // then the result is the oracle's, across the minutes the records span
  const states = minutes.states();
  assert.ok(states.groups >= 8, `${states.groups} groups`);
  assert.deepEqual(snapshot(asMap(states)), snapshot(oracle(samples, MINUTE)));
});
