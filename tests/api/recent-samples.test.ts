/**
 * PromQL answered from the head of recent samples and from ClickHouse, in process over
 * the real pipeline: the same queries (selectors, pushed-down aggregations, range
 * functions, lookback, NaN, ±Inf, stale markers, repeats and out-of-order samples)
 * give the same answers on both paths, and the counter of selections shows which path
 * answered, so a head that was never asked would fail the test. The dashboard query's
 * raw part is compared the same way, for every aggregation.
 */
import assert from "node:assert/strict";
import { encodeSampleRecord } from "../../domain/sample-record.ts";
import { partitionOf, seriesId } from "../../domain/series.ts";
import { RecentSamples } from "../../read-models/recent-samples.ts";
import {
  AGGREGATIONS,
  type QueryResult,
  runSampleQuery,
  type SampleQuery,
} from "../../read-models/sample-query.ts";
import { defaultRetention } from "../../read-models/schema.ts";
import { ACME_KEY, openPromApp, type PromApp } from "../support/prom-app.ts";
import { TOPIC } from "../support/pipeline.ts";

const STEP = 15_000;
const NOW = Date.now();
const T0 = Math.floor(NOW / 60_000) * 60_000 - 40 * 60_000;
const times = Array.from({ length: 120 }, (_, i) => T0 + i * STEP);
const at = (ms: number) => String(ms / 1000);
const STALE_BITS = [0x7ff0000000000002n];

async function seeded(head: RecentSamples): Promise<PromApp> {
  const p = await openPromApp({ recent: head });
  const weird = ["NaN", "+Inf", "-Inf", 1.5, "NaN", 2];
  await p.ingest(ACME_KEY, [
    {
      metric: "req_total",
      labels: { job: "api" },
      timestamps: times,
      values: times.map((_, i) => (i % 50) * 10),
    },
    { metric: "req_total", labels: { job: "web" }, timestamps: times, values: times.map((_, i) => i * 3) },
    ...["eu", "us", "ap"].flatMap((region, r) =>
      [1, 2].map((h) => ({
        metric: "temp",
        labels: { region, host: `h${r}${h}` },
        // Every third sample missing in one host: gaps longer than a step, shorter than the lookback.
        timestamps: times.filter((_, i) => h === 1 || i % 3 !== 0),
        values: times.filter((_, i) => h === 1 || i % 3 !== 0).map((_, i) => 0.1 * r + (i % 7) / 3),
      }))
    ),
    { metric: "weird", labels: { k: "a" }, timestamps: times, values: times.map((_, i) => weird[i % 6]) },
    {
      metric: "weird",
      labels: { k: "b" },
      timestamps: times,
      values: times.map((_, i) => weird[(i + 1) % 6]),
    },
  ]);
  // Written again later, and out of order: the value written last counts.
  await p.ingest(ACME_KEY, [
    {
      metric: "temp",
      labels: { region: "eu", host: "h01" },
      timestamps: [times[40], times[10]],
      values: [99, -99],
    },
  ]);
  await p.ingest(ACME_KEY, [
    { metric: "temp", labels: { region: "eu", host: "h01" }, timestamps: [times[40]], values: [42] },
  ]);
  // A stale marker keeps its bits only through the log's binary record.
  const labels = { host: "h9" };
  const id = seriesId(p.acme, "flaky", labels);
  const values = new Float64Array(
    new BigUint64Array([0x3ff0000000000000n, ...STALE_BITS, 0x4010000000000000n]).buffer,
  );
  const record = encodeSampleRecord({
    tenant: p.acme,
    series: [{ id, metric: "flaky", labels }],
    seriesIndex: new Uint32Array(3),
    timestamps: Float64Array.of(times[20], times[22], times[26]),
    values,
    length: 3,
  });
  await p.pipeline.log.append(TOPIC, [{ partition: partitionOf(id, 4), key: "flaky", value: record }]);
  await p.pipeline.caughtUp();
  return p;
}

const QUERIES = [
  "temp",
  'temp{host="h01"}',
  "avg by (region) (temp)",
  "sum by (region) (temp)",
  "min by (region) (temp)",
  "max by (region) (temp)",
  "count by (region) (temp)",
  "group by (region) (temp)",
  "sum(temp)",
  "avg by (__name__, region) (temp)",
  "rate(req_total[5m])",
  "increase(req_total[2m])",
  "sum_over_time(temp[2m])",
  "flaky",
  "count_over_time(flaky[1m])",
  "weird",
  "sum by (k) (weird)",
  "max by (k) (weird)",
  "min(weird)",
  "avg_over_time(weird[1m])",
  "temp offset 5m",
];

type Answer = { status: number; body: unknown };

async function answers(p: PromApp): Promise<Answer[]> {
  const out: Answer[] = [];
  const start = T0 + 5 * 60_000;
  const end = T0 + 35 * 60_000;
  for (const query of QUERIES) {
    for (const step of ["60", "17"]) {
      const res = await p.prom(ACME_KEY, "/api/v1/query_range", {
        query,
        start: at(start),
        end: at(end),
        step,
      });
      out.push(res);
    }
    out.push(
      await p.prom(ACME_KEY, "/api/v1/query_range", {
        query,
        start: at(start),
        end: at(end),
        step: "30",
        lookback_delta: "20s",
      }),
    );
    const instant = await p.prom(ACME_KEY, "/api/v1/query", { query, time: at(T0 + 22 * 60_000 + 500) });
    out.push(sorted(instant));
  }
  out.push(
    sorted(await p.prom(ACME_KEY, "/api/v1/query", { query: "temp[2m]", time: at(T0 + 30 * 60_000) })),
  );
  return out;
}

/** Instant queries' series come in no set order on either path. */
function sorted(answer: Answer): Answer {
  const data = (answer.body as { data?: { resultType: string; result: { metric: unknown }[] } }).data;
  if (data?.resultType === "vector" || data?.resultType === "matrix") {
    data.result.sort((a, b) => (JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1));
  }
  return answer;
}

const selections = (p: PromApp, path: string) =>
  p.telemetry.counter("lookout_query_selections_total", { path });

Deno.test("recent samples: every query answers the same from the head as from ClickHouse", async () => {
  const head = new RecentSamples({ minutes: 120, maxSamples: 1_000_000 });
  const p = await seeded(head);
  try {
    // Fed but not opened: it covers nothing, so ClickHouse answers.
    const fromStore = await answers(p);
    assert.equal(selections(p, "head"), 0);
    const stored = selections(p, "store");
    assert.ok(stored >= QUERIES.length * 4, `store answered ${stored}`);
    // The tenant had no sample in the table before the head was fed.
    head.open(new Map());
    const fromHead = await answers(p);
    assert.equal(selections(p, "store"), stored, "no selection went to ClickHouse");
    assert.equal(selections(p, "head"), stored);
    for (const [i, answer] of fromStore.entries()) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(fromHead[i], answer, `answer ${i}: ${QUERIES[Math.floor(i / 4)] ?? "temp[2m]"}`);
    }
    const series = (fromHead[0].body as { data: { result: unknown[] } }).data.result;
    assert.equal(series.length, 6, "the plain selector found every temp series");
  } finally {
    await p.close();
  }
});

Deno.test("recent samples: a range the head does not fully hold goes to ClickHouse", async () => {
  const head = new RecentSamples({ minutes: 120, maxSamples: 1_000_000 });
  const p = await seeded(head);
  try {
    // The table held samples up to T0 + 10 min before the head was fed.
    head.open(new Map([[p.acme, T0 + 10 * 60_000]]));
    const range = (start: number) =>
      p.prom(ACME_KEY, "/api/v1/query_range", {
        query: "sum(temp)",
        start: at(start),
        end: at(T0 + 30 * 60_000),
        step: "60",
      });
    const early = await range(T0 + 12 * 60_000);
    assert.equal(selections(p, "store"), 1, "lookback reaches before the covered start");
    const late = await range(T0 + 16 * 60_000);
    assert.equal(selections(p, "head"), 1);
    const values = (a: Answer) =>
      (a.body as { data: { result: { values: unknown[] }[] } }).data.result[0].values;
    assert.deepEqual(values(early).slice(4), values(late));
  } finally {
    await p.close();
  }
});

Deno.test("/v1/query: the raw part answers the same from the head as from ClickHouse", async () => {
  const head = new RecentSamples({ minutes: 120, maxSamples: 1_000_000 });
  const p = await seeded(head);
  try {
    head.open(new Map());
    const store = p.pipeline.store;
    const statements: string[] = [];
    const recording: typeof store = Object.create(store);
    recording.query = (sql, params, settings) => {
      statements.push(sql);
      return store.query(sql, params, settings);
    };
    // Buckets from T0 + 15 min on are open, so the 1m tier stitches the raw part there.
    const ctx = { now: T0 + 20 * 60_000, retention: defaultRetention, allowedLatenessMs: 300_000 };
    let compared = 0;
    for (const agg of AGGREGATIONS) {
      for (const metric of ["temp", "weird", "flaky"]) {
        for (const shape of [{ by: ["region"] }, { by: [] }, {}]) {
          for (const resolution of ["raw", "auto"] as const) {
            const q: SampleQuery = {
              metric,
              filters: {},
              agg,
              from: T0,
              to: T0 + 30 * 60_000,
              step: resolution === "raw" ? 120_000 : 60_000,
              resolution,
              ...shape,
            };
            const fromStore = await runSampleQuery(store, p.acme, q, ctx);
            statements.length = 0;
            const fromHead = await runSampleQuery(recording, p.acme, q, ctx, undefined, { head });
            const what = `${agg} of ${metric} ${JSON.stringify(shape)} at ${resolution}`;
            assert.ok(statements.every((sql) => !sql.includes("FROM samples")), what);
            assertClose(bySeries(fromHead), bySeries(fromStore), what);
            // The raw part holds points: temp and weird have samples up to T0 + 30 min.
            const tail = fromStore.series.some((s) => s.points.some(([t]) => t >= T0 + 15 * 60_000));
            if (metric !== "flaky") assert.ok(tail, what);
            compared++;
          }
        }
      }
    }
    assert.equal(compared, AGGREGATIONS.length * 18);
  } finally {
    await p.close();
  }
});

/** Series come in the order their first rows do on each path; compare them by labels. */
function bySeries(result: QueryResult): QueryResult {
  const key = (labels: Record<string, string>) => JSON.stringify(labels);
  return { ...result, series: [...result.series].sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1)) };
}

/** Equal answers, numbers within a relative 1e-12: the engine adds floating-point values in its own order. */
function assertClose(actual: QueryResult, expected: QueryResult, what: string): void {
  const exact = (r: QueryResult) => ({
    ...r,
    series: r.series.map((s) => ({ ...s, points: s.points.map(([t]) => t) })),
  });
  assert.deepEqual(exact(actual), exact(expected), what);
  actual.series.forEach((s, i) =>
    s.points.forEach(([t, v], j) => {
      const want = expected.series[i].points[j][1];
      const near = typeof v === "number" && typeof want === "number" &&
        Math.abs(v - want) <= 1e-12 * Math.max(1, Math.abs(want));
      assert.ok(v === want || near, `${what}: ${JSON.stringify(s.labels)} at ${t}: ${v} vs ${want}`);
    })
  );
}
