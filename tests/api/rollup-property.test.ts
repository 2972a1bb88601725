/**
 * Property: for random workloads with out-of-order samples (within the allowed
 * lateness) and timestamps written twice (the repeat in the same record, where the
 * rollups count it once as raw does), every rollup bucket equals the aggregate
 * computed from raw: exactly for count, sum, min, max, last and avg; within the
 * sketch's 1% relative error for percentiles. Samples later than the lateness go to
 * late_samples and are the only difference.
 */
import assert from "node:assert/strict";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { type Aggregation, runSampleQuery } from "../../read-models/sample-query.ts";
import { defaultRetention } from "../../read-models/schema.ts";
import { uniqueName } from "../support/analytics.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { openPipeline, TOPIC } from "../support/pipeline.ts";

const HOUR = 3_600_000;
const LATENESS = 300_000;

interface Sample {
  series: number;
  ts: number;
  value: number;
}

/** Samples in event-time order over `hours`, then shuffled within less than the lateness. */
function workload(seed: number, base: number, hours: number): { samples: Sample[]; series: number } {
  const rand = seededRandom(seed).next;
  const series = 2 + Math.floor(rand() * 4);
  const samples: Sample[] = [];
  let ts = base;
  while (ts < base + hours * HOUR) {
    ts += 1 + Math.floor(rand() * 45_000);
    const s = Math.floor(rand() * series);
    const value = (Math.floor(rand() * 4000) - 1000) / 4; // multiples of 0.25: exact sums
    samples.push({ series: s, ts, value });
    if (rand() < 0.05) samples.push({ series: s, ts, value: value + 0.5 }); // same timestamp twice
  }
  // Arrival order: each sample displaced by up to ~4 minutes of event time; a repeat
  // arrives right after the sample it replaces.
  const keyed: { s: Sample; key: number }[] = [];
  for (const [i, s] of samples.entries()) {
    const previous = samples[i - 1];
    const repeat = previous !== undefined && previous.ts === s.ts && previous.series === s.series;
    keyed.push({ s, key: repeat ? keyed[i - 1].key : s.ts + rand() * (LATENESS - 60_000) });
  }
  keyed.sort((a, b) => a.key - b.key);
  return { samples: keyed.map((k) => k.s), series };
}

async function send(
  pipeline: Awaited<ReturnType<typeof openPipeline>>,
  tenant: string,
  samples: Sample[],
  seriesCount: number,
) {
  const defs = Array.from({ length: seriesCount }, (_, i) => {
    const labels = { host: `h${i}`, zone: i % 2 ? "b" : "a" };
    return { id: seriesId(tenant, "lat", labels), metric: "lat", labels };
  });
  for (let start = 0, end = 0, n = 0; start < samples.length; start = end, n++) {
    // Records of 40 samples, one more where that keeps a repeat with the sample it replaces.
    end = Math.min(start + 40, samples.length);
    if (end < samples.length && samples[end].ts === samples[end - 1].ts) end++;
    const b = new SampleBatchBuilder(tenant);
    const index = defs.map((d) => b.addSeries(d));
    for (const s of samples.slice(start, end)) b.addSample(index[s.series], s.ts, s.value);
    await appendSamples(
      { log: pipeline.log, topic: TOPIC, partitions: 4 },
      b.build(),
      `${crypto.randomUUID()}-${n}`,
    );
  }
}

type Series = { labels: Record<string, string>; points: [number, unknown][] };

function byLabels(series: Series[]): Map<string, Map<number, number>> {
  return new Map(
    series.map((s) => [JSON.stringify(s.labels), new Map(s.points.map(([t, v]) => [t, Number(v)]))]),
  );
}

Deno.test("property: rollup buckets equal aggregates from raw under out-of-order and late-within-lateness data", async () => {
  const pipeline = await openPipeline({ allowedLatenessMs: LATENESS });
  try {
    pipeline.start();
    const base = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
    const seeds = [1, 2, 3, 4, 5, 6];
    const tenants = seeds.map((seed) => uniqueName(`prop${seed}`));
    for (const [i, seed] of seeds.entries()) {
      const { samples, series } = workload(seed, base, 3);
      await send(pipeline, tenants[i], samples, series);
    }
    await pipeline.caughtUp();
    const ctx = { now: Date.now(), retention: defaultRetention, allowedLatenessMs: LATENESS };
    const exact: Aggregation[] = ["count", "sum", "min", "max", "last", "avg"];
    let compared = 0;
    for (const tenant of tenants) {
      const late = await pipeline.store.query<{ n: string }>(
        "SELECT count() AS n FROM late_samples WHERE tenant = {tenant:String}",
        { tenant },
      );
      assert.equal(Number(late[0].n), 0, `tenant ${tenant}: samples within the lateness must not be late`);
      for (const [tier, step] of [["1m", 60_000], ["1h", HOUR], ["1m", 300_000]] as const) {
        for (const agg of [...exact, "p50", "p90", "p99"] as Aggregation[]) {
          const q = { metric: "lat", filters: {}, agg, from: base, to: base + 4 * HOUR, step };
          const raw = await runSampleQuery(pipeline.store, tenant, { ...q, resolution: "raw" }, ctx);
          const rolled = await runSampleQuery(pipeline.store, tenant, { ...q, resolution: tier }, ctx);
          assert.equal(rolled.resolution, tier);
          const want = byLabels(raw.series);
          const got = byLabels(rolled.series);
          assert.deepEqual(
            [...got.keys()].sort(),
            [...want.keys()].sort(),
            `${tenant} ${agg} ${tier}: same series`,
          );
          for (const [labels, points] of want) {
            const gotPoints = got.get(labels)!;
            assert.deepEqual(
              [...gotPoints.keys()],
              [...points.keys()],
              `${tenant} ${agg} ${tier}: same buckets`,
            );
            for (const [t, x] of points) {
              const y = gotPoints.get(t)!;
              if (exact.includes(agg)) assert.equal(y, x, `${tenant} ${agg} ${tier} ${labels} @${t}`);
              else {assert.ok(
                  Math.abs(y - x) <= 0.01 * Math.abs(x) * (1 + 1e-9),
                  `${agg} ${tier} @${t}: ${y} vs ${x}`,
                );}
              compared++;
            }
          }
        }
      }
    }
    assert.ok(compared > 2000, `compared ${compared} buckets`);
  } finally {
    await pipeline.close();
  }
});

Deno.test("property: samples later than the lateness go to late_samples, are counted, and only they differ", async () => {
  const pipeline = await openPipeline({ allowedLatenessMs: LATENESS });
  try {
    pipeline.start();
    const tenant = uniqueName("late");
    const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const onTime: Sample[] = [];
    for (let i = 0; i < 120; i++) onTime.push({ series: i % 2, ts: base + i * 60_000, value: i });
    await send(pipeline, tenant, onTime, 2);
    await pipeline.caughtUp();
    // Event time now reaches base + 119 min: windows before base + 114 min are closed.
    const late: Sample[] = [{ series: 0, ts: base + 10 * 60_000 + 5, value: 1000 }, {
      series: 1,
      ts: base + 30 * 60_000 + 7,
      value: 2000,
    }];
    const within: Sample[] = [{ series: 0, ts: base + 116 * 60_000 + 3, value: 500 }];
    await send(pipeline, tenant, [...late, ...within], 2);
    await pipeline.caughtUp();
    const rows = await pipeline.store.query<{ n: string; s: number }>(
      "SELECT count() AS n, sum(value) AS s FROM late_samples WHERE tenant = {tenant:String}",
      { tenant },
    );
    assert.equal(Number(rows[0].n), 2);
    assert.equal(rows[0].s, 3000);
    const ctx = { now: Date.now(), retention: defaultRetention, allowedLatenessMs: LATENESS };
    const q = {
      metric: "lat",
      filters: {},
      agg: "count" as const,
      by: [],
      from: base,
      to: base + 3 * HOUR,
      step: HOUR,
    };
    const raw = await runSampleQuery(pipeline.store, tenant, { ...q, resolution: "raw" }, ctx);
    const hourly = await runSampleQuery(pipeline.store, tenant, { ...q, resolution: "1h" }, ctx);
    const total = (r: typeof raw) => r.series[0].points.reduce((n, [, v]) => n + Number(v), 0);
    assert.equal(total(raw), 123);
    assert.equal(
      total(hourly),
      121,
      "the two late samples are not in the rollup; the one within lateness is",
    );
  } finally {
    await pipeline.close();
  }
});
