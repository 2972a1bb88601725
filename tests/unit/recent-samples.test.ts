import assert from "node:assert/strict";
import { makeSeriesId, type SeriesDef, seriesIdToDecimal } from "../../domain/series.ts";
import { SampleBlockBuilder } from "../../projections/sample-block.ts";
import { RecentSamples } from "../../read-models/recent-samples.ts";
import { holdingRecentSamples, openRecentSamples } from "../../adapters/recent-samples-lifecycle.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { CHUNK_SAMPLES, SampleBuffer, SeriesChunks } from "../../read-models/series-chunks.ts";

const MINUTE = 60_000;
const NOW = 1_000 * MINUTE;
const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];

const def = (n: number, hi = n * 7): SeriesDef => ({ id: makeSeriesId(n, hi), metric: "m", labels: {} });
const idOf = (d: SeriesDef) => seriesIdToDecimal(d.id);

/** One stored batch: [tenant, series, time, value] in write order. */
function block(samples: [string, SeriesDef, number, number][]) {
  const builder = new SampleBlockBuilder(samples.length);
  for (const [tenant, series, t, v] of samples) {
    builder.add({
      tenant,
      series: [series],
      seriesIndex: Uint32Array.of(0),
      timestamps: Float64Array.of(t),
      values: Float64Array.of(v),
      length: 1,
    });
  }
  return builder.build();
}

function read(samples: SeriesChunks | undefined, from = -Infinity, to = Infinity) {
  const buffer = new SampleBuffer();
  const n = samples?.read(from, to, buffer) ?? 0;
  return {
    t: [...buffer.t.subarray(0, n)],
    v: [...buffer.v.subarray(0, n)],
    stale: [...buffer.stale.subarray(0, n)],
  };
}

Deno.test("series chunks: any arrival order reads back sorted, a time written twice keeps the last value", () => {
  const chunks = new SeriesChunks();
  const times = Array.from({ length: 3 * CHUNK_SAMPLES }, (_, i) => (i * 7919) % (3 * CHUNK_SAMPLES));
  for (const t of times) assert.equal(chunks.add(t, t / 2, false), true, `t=${t} is new`);
  for (const t of [0, 300, 767]) assert.equal(chunks.add(t, -t, t === 300), false, `t=${t} replaced`);
  const all = read(chunks);
  assert.deepEqual(all.t, times.toSorted((a, b) => a - b));
  assert.deepEqual(all.v.slice(299, 302), [299 / 2, -300, 301 / 2]);
  assert.deepEqual([all.v[0], all.v[767]], [-0, -767]);
  assert.deepEqual(all.stale.map((s, i) => s === 1 ? i : -1).filter((i) => i >= 0), [300]);
  assert.equal(chunks.size, 3 * CHUNK_SAMPLES);
});

Deno.test("series chunks: ranges are (from, to], and dropping keeps the samples at or after the cutoff", () => {
  const chunks = new SeriesChunks();
  for (let t = 10; t <= 1000; t += 10) chunks.add(t, t, false);
  assert.equal(read(chunks, 100, 200).t.length, 10);
  assert.deepEqual(read(chunks, 100, 130).t, [110, 120, 130]);
  assert.equal(read(chunks, 1000, 2000).t.length, 0);
  assert.equal(chunks.dropBefore(505), 50);
  assert.deepEqual(read(chunks, 0, 530).t, [510, 520, 530]);
  assert.equal(chunks.size, 50);
  assert.equal(chunks.dropBefore(5000), 50);
  assert.equal(read(chunks).t.length, 0);
});

Deno.test("recent samples: per tenant and series, out of order and repeated, read as the table keeps them", () => {
  const head = new RecentSamples({ minutes: 60, maxSamples: 1000, now: () => NOW });
  const [a, b, collide] = [def(1), def(2), def(1, 99)];
  head.append(block([
    ["acme", a, NOW - 30_000, 1],
    ["acme", a, NOW - 50_000, 2], // out of order
    ["acme", a, NOW - 30_000, 3], // the same time again: kept last
    ["acme", collide, NOW - 30_000, 9], // same low word, other series
    ["globex", a, NOW - 30_000, 4], // same id, other tenant
    ["acme", b, NOW - 10_000, STALE],
  ]));
  assert.deepEqual(read(head.series("acme", idOf(a))), {
    t: [NOW - 50_000, NOW - 30_000],
    v: [2, 3],
    stale: [0, 0],
  });
  assert.deepEqual(read(head.series("acme", idOf(collide))).v, [9]);
  assert.deepEqual(read(head.series("globex", idOf(a))).v, [4]);
  assert.deepEqual(read(head.series("acme", idOf(b))).stale, [1]);
  assert.equal(head.series("globex", idOf(b)), undefined);
  assert.equal(head.size, 5);
});

Deno.test("recent samples: covers nothing until opened, then from the first time the table did not hold", () => {
  const head = new RecentSamples({ minutes: 60, maxSamples: 1000, now: () => NOW });
  assert.equal(head.covers("acme", NOW - MINUTE), false);
  head.open(new Map([["acme", NOW - 10 * MINUTE]]));
  assert.equal(head.coveredFrom("acme"), NOW - 10 * MINUTE);
  assert.equal(head.covers("acme", NOW - 10 * MINUTE - 1), true, "samples after from: at from + 1 and later");
  assert.equal(head.covers("acme", NOW - 10 * MINUTE - 2), false);
  assert.equal(
    head.coveredFrom("globex"),
    NOW - 60 * MINUTE,
    "a tenant the table had nothing of: the horizon",
  );
  head.reset();
  assert.equal(head.coveredFrom("globex"), Infinity, "reset: covers nothing again");
});

Deno.test("recent samples: the horizon moves with time and evicts what falls behind it", () => {
  let now = NOW;
  const head = new RecentSamples({ minutes: 10, maxSamples: 1000, now: () => now });
  head.open(new Map());
  const a = def(1);
  head.append(block([["acme", a, NOW - 11 * MINUTE, 0], ["acme", a, NOW - 9 * MINUTE, 1]]));
  assert.deepEqual(read(head.series("acme", idOf(a))).v, [1], "older than the horizon: not held");
  now = NOW + 2 * MINUTE;
  assert.equal(head.coveredFrom("acme"), NOW - 8 * MINUTE);
  head.append(block([["acme", def(2), now, 2]]));
  assert.equal(head.series("acme", idOf(a)), undefined, "a series with nothing left is forgotten");
  assert.equal(head.size, 1);
});

Deno.test("recent samples: past the sample limit the oldest minutes go and coverage starts after them", () => {
  const head = new RecentSamples({ minutes: 60, maxSamples: 5, now: () => NOW });
  head.open(new Map());
  const a = def(1);
  const samples: [string, SeriesDef, number, number][] = [];
  for (let m = 1; m <= 3; m++) {
    for (let s = 0; s < 2; s++) samples.push(["acme", a, NOW - (10 - m) * MINUTE + s * 1000, m]);
  }
  head.append(block(samples));
  assert.equal(head.size, 4, "the oldest minute (2 samples) went");
  assert.deepEqual(read(head.series("acme", idOf(a))).v, [2, 2, 3, 3]);
  assert.equal(head.coveredFrom("acme"), NOW - 8 * MINUTE);
  assert.equal(head.covers("acme", NOW - 9 * MINUTE), false, "a range it no longer fully holds");
  head.append(block([["acme", a, NOW - 9 * MINUTE + 5, 7]]));
  assert.equal(head.size, 4, "a sample before the floor is not taken");
});

Deno.test("recent samples: opened from the newest stored sample per tenant, emptied and opened again around a swap", async () => {
  const head = new RecentSamples({ minutes: 60, maxSamples: 1000, now: () => NOW });
  let newest: Record<string, unknown>[] = [{ tenant: "acme", newest: String(NOW - 5 * MINUTE) }];
  const asked: unknown[] = [];
  const store = {
    query: (_sql: string, params: unknown) => {
      asked.push(params);
      return Promise.resolve(newest);
    },
  } as unknown as AnalyticsStore;
  await openRecentSamples(store, head);
  assert.deepEqual(asked, [{ since: NOW - 60 * MINUTE }], "asked from the horizon");
  assert.equal(head.coveredFrom("acme"), NOW - 5 * MINUTE + 1, "after the newest stored sample");
  assert.equal(head.coveredFrom("globex"), NOW - 60 * MINUTE);
  const steps: string[] = [];
  let resumed!: () => void;
  const done = new Promise<void>((resolve) => resumed = resolve);
  const held = holdingRecentSamples(
    {
      pause: () => Promise.resolve(void steps.push("paused")),
      resume: () => {
        steps.push(`resumed, acme from ${head.coveredFrom("acme") - NOW}`);
        resumed();
      },
    },
    head,
    store,
  );
  head.append(block([["acme", def(1), NOW - MINUTE, 1]]));
  await held.pause();
  assert.equal(head.size, 0, "emptied while the tables are swapped");
  assert.equal(head.coveredFrom("globex"), Infinity, "and covers nothing meanwhile");
  newest = [{ tenant: "acme", newest: String(NOW - 2 * MINUTE) }];
  held.resume();
  await done;
  assert.deepEqual(
    steps,
    ["paused", `resumed, acme from ${-2 * MINUTE + 1}`],
    "opened over the new table first",
  );
});
