/**
 * A selection of more than WIDE_SERIES series the `series` table answers is run with its
 * label filter inside the statement instead of a bound id set; one the in-process index
 * answers names every id. The answers must not change. Given 5,000 series of one metric
 * (region = id mod 10, value = (7·id + minute) mod 100, one sample a minute), each wide
 * answer is checked against the formula, against the same group asked for with a region
 * matcher, which selects 500 series and so takes the named path, and against the same
 * query with the index.
 */
import assert from "node:assert/strict";
import { clickHouseSource } from "../../read-models/promql/selector-sql.ts";
import { rangeQuery } from "../../read-models/promql/run-query.ts";
import { WIDE_SERIES } from "../../read-models/promql/series-scope.ts";
import { runSampleQuery, type SampleQuery } from "../../read-models/sample-query.ts";
import { MARK_SQL } from "../../read-models/rollup-days.ts";
import { defaultRetention } from "../../read-models/schema.ts";
import { SeriesIndex } from "../../read-models/series-index.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";

const SERIES = 5_000;
const MINUTES = 30;
const END = Math.floor(Date.now() / 3_600_000) * 3_600_000;
const START = END - MINUTES * 60_000;
const value = (id: number, minute: number) => (7 * id + minute) % 100;

async function loaded(): Promise<string> {
  const store = await sharedStore();
  const tenant = uniqueName("wide");
  await store.command(
    `INSERT INTO series SELECT '${tenant}', 'wide_m', number + 1,
       map('region', concat('r', toString((number + 1) % 10)), 'host', concat('h', toString(number + 1))),
       toDate(fromUnixTimestamp64Milli(toInt64(${START})), 'UTC') FROM numbers(${SERIES})`,
  );
  await store.command(
    `INSERT INTO samples (tenant, series_id, ts, value) SELECT '${tenant}', intDiv(number, ${MINUTES}) + 1,
       fromUnixTimestamp64Milli(toInt64(${START}) + (number % ${MINUTES}) * 60000),
       toFloat64(((intDiv(number, ${MINUTES}) + 1) * 7 + number % ${MINUTES}) % 100)
       FROM numbers(${SERIES * MINUTES})`,
  );
  return tenant;
}

const tenantReady = loaded();

/** The fixture's series in an in-process index, which hands every id of a selection over. */
async function indexed(tenant: string): Promise<SeriesIndex> {
  const index = new SeriesIndex();
  const series = Array.from({ length: SERIES }, (_, i) => ({
    id: String(i + 1),
    metric: "wide_m",
    labels: { region: `r${(i + 1) % 10}`, host: `h${i + 1}` },
  }));
  await index.add(tenant, series, Math.floor(START / 86_400_000));
  return index;
}
const limits = { maxSeries: 10_000, maxSamples: 1e8, maxExecutionSeconds: 60, maxPoints: 11_000 };

Deno.test("the fixture is wide: more series than the narrow path names", () => {
  assert.ok(SERIES > WIDE_SERIES && SERIES / 10 <= WIDE_SERIES);
});

Deno.test("PromQL avg and count by region over a wide selection equal the formula and the narrow path", async () => {
  const tenant = await tenantReady;
  const range = { start: START + 5 * 60_000, end: END - 60_000, step: 300_000 };
  const store = await sharedStore();
  const run = (q: string) => rangeQuery(clickHouseSource(store, tenant, limits), q, range, limits);
  const wide = await run("avg by (region) (wide_m)");
  assert.equal(wide.resultType, "matrix");
  if (wide.resultType !== "matrix") return;
  assert.equal(wide.result.length, 10);
  const narrow = await run('avg by (region) (wide_m{region="r3"})');
  assert.ok(narrow.resultType === "matrix");
  assert.deepEqual(wide.result.find((s) => s.metric.region === "r3"), narrow.result[0]);
  // At step t the value is the sample of minute (t − START)/60 s.
  const r3 = wide.result.find((s) => s.metric.region === "r3")!;
  for (const [t, v] of r3.values) {
    const minute = (t * 1000 - START) / 60_000;
    const ids = Array.from({ length: SERIES / 10 }, (_, i) => i * 10 + 3);
    const expected = ids.reduce((sum, id) => sum + value(id, minute), 0) / ids.length;
    assert.ok(Math.abs(Number(v) - expected) < 1e-9, `avg at minute ${minute}: ${v} vs ${expected}`);
  }
  const counted = await run("count(wide_m)");
  assert.ok(counted.resultType === "matrix");
  assert.deepEqual(counted.result[0].values.map(([, v]) => v), r3.values.map(() => String(SERIES)));
  const index = await indexed(tenant);
  const named = (q: string) => rangeQuery(clickHouseSource(store, tenant, limits, index), q, range, limits);
  assert.deepEqual(sortedByRegion(await named("avg by (region) (wide_m)")), sortedByRegion(wide));
  assert.deepEqual(await named("count(wide_m)"), counted);
});

function sortedByRegion<T>(answer: T): T {
  const matrix = answer as { result?: { metric: Record<string, string> }[] };
  matrix.result?.sort((a, b) => (a.metric.region ?? "").localeCompare(b.metric.region ?? ""));
  return answer;
}

Deno.test("a raw matrix over a wide selection reads every series by the pushed-down filter", async () => {
  const tenant = await tenantReady;
  const store = await sharedStore();
  const source = clickHouseSource(store, tenant, limits);
  const series = await source.select([{ name: "__name__", type: "=", value: "wide_m" }], START - 1, END);
  assert.equal(series.length, SERIES);
  const h42 = series.find((s) => s.labels.host === "h42")!;
  assert.equal(h42.labels.region, "r2");
  assert.deepEqual([...h42.v], Array.from({ length: MINUTES }, (_, m) => value(42, m)));
});

Deno.test("/v1/query count and avg by region over a wide selection equal the formula and the narrow path", async () => {
  const tenant = await tenantReady;
  const store = await sharedStore();
  const ctx = { now: END, retention: defaultRetention, allowedLatenessMs: 300_000 };
  const query = (q: Partial<SampleQuery>) =>
    runSampleQuery(store, tenant, {
      metric: "wide_m",
      filters: {},
      agg: "count",
      by: [],
      from: START,
      to: END,
      step: 600_000,
      resolution: "raw",
      ...q,
    }, ctx);
  const counted = await query({});
  assert.deepEqual(counted.series.map((s) => s.labels), [{}]);
  assert.deepEqual(counted.series[0].points.map(([, v]) => v), [SERIES * 10, SERIES * 10, SERIES * 10]);
  const wide = await query({ agg: "avg", by: ["region"] });
  assert.equal(wide.series.length, 10);
  const narrow = await query({ agg: "avg", by: ["region"], filters: { region: "r7" } });
  assert.deepEqual(wide.series.find((s) => s.labels.region === "r7"), narrow.series[0]);
  const index = await indexed(tenant);
  const statements: string[] = [];
  const recording: typeof store = Object.create(store);
  recording.query = (sql, params, settings) => {
    statements.push(sql);
    return store.query(sql, params, settings);
  };
  const named = await runSampleQuery(
    recording,
    tenant,
    {
      metric: "wide_m",
      filters: {},
      agg: "avg",
      by: ["region"],
      from: START,
      to: END,
      step: 600_000,
      resolution: "raw",
    },
    ctx,
    undefined,
    { catalog: index },
  );
  assert.ok(
    statements.length > 0 &&
      statements.every((sql) => sql.includes("{series_ids:String}") && !sql.includes("FROM series")),
  );
  const byRegion = (r: typeof wide) =>
    [...r.series].sort((a, b) => a.labels.region.localeCompare(b.labels.region));
  assert.deepEqual(byRegion(named), byRegion(wide));
});

Deno.test("/v1/query avg by region over a wide selection's packed hours equals the formula, the narrow and the named path", async () => {
  const store = await sharedStore();
  const tenant = uniqueName("wide-packed");
  const DAY = 86_400_000;
  const first = Math.floor(END / DAY) * DAY - 3 * DAY;
  const mark = first + 2 * DAY;
  // Two days of every series, seen on both, packed whole: hour h of series id holds one sample of (7·id + h) mod 100.
  await store.command(
    `INSERT INTO series SELECT '${tenant}', 'wide_p', number % ${SERIES} + 1,
       map('region', concat('r', toString((number % ${SERIES} + 1) % 10)), 'host', concat('h', toString(number % ${SERIES} + 1))),
       toDate(fromUnixTimestamp64Milli(toInt64(${first}) + intDiv(number, ${SERIES}) * ${DAY}), 'UTC')
       FROM numbers(${2 * SERIES})`,
  );
  await store.command(
    `INSERT INTO rollup_1h_by_day (tenant, series_id, day, hours, per_hour, count, sum, min, max, packed)
     SELECT '${tenant}', number % ${SERIES} + 1 AS id,
       toDate(fromUnixTimestamp64Milli(toInt64(${first}) + intDiv(number, ${SERIES}) * ${DAY}), 'UTC'),
       ${(1 << 24) - 1}, 1, [], arrayMap(h -> toFloat64((7 * id + h) % 100), range(24)) AS v, v, v,
       fromUnixTimestamp64Milli(toInt64(${mark}))
     FROM numbers(${2 * SERIES})`,
  );
  await store.command(MARK_SQL, { tenant, through: mark });
  const q: SampleQuery = {
    metric: "wide_p",
    filters: {},
    agg: "avg",
    by: ["region"],
    from: first,
    to: mark,
    step: 3_600_000,
    resolution: "1h",
  };
  const ctx = { now: END, retention: defaultRetention, allowedLatenessMs: 300_000 };
  const statements: string[] = [];
  const recording: typeof store = Object.create(store);
  recording.query = (sql, params, settings) => {
    statements.push(sql);
    return store.query(sql, params, settings);
  };
  const wide = await runSampleQuery(recording, tenant, q, ctx);
  assert.ok(
    statements.some((sql) => sql.includes("FROM rollup_1h_by_day") && sql.includes("FROM series")),
    "the wide selection's filter is in the packed statement",
  );
  assert.ok(!statements.some((sql) => sql.includes("FROM rollup_1h AS")), "no 1h buckets are read");
  assert.equal(wide.series.length, 10);
  for (const s of wide.series) {
    const r = Number(s.labels.region.slice(1));
    const ids = Array.from({ length: SERIES / 10 }, (_, i) => i * 10 + (r === 0 ? 10 : r));
    assert.equal(s.points.length, 48);
    for (const [t, v] of s.points) {
      const h = ((t - first) / 3_600_000) % 24;
      const expected = ids.reduce((a, id) => a + ((7 * id + h) % 100), 0) / ids.length;
      assert.ok(
        Math.abs(Number(v) - expected) < 1e-9,
        `${s.labels.region} at ${t}: ${v}, expected ${expected}`,
      );
    }
  }
  const narrow = await runSampleQuery(store, tenant, { ...q, filters: { region: "r3" } }, ctx);
  assert.deepEqual(wide.series.find((s) => s.labels.region === "r3"), narrow.series[0]);
  const index = new SeriesIndex();
  const series = Array.from({ length: SERIES }, (_, i) => ({
    id: String(i + 1),
    metric: "wide_p",
    labels: { region: `r${(i + 1) % 10}`, host: `h${i + 1}` },
  }));
  for (const day of [first, first + DAY]) await index.add(tenant, series, day / DAY);
  const named = await runSampleQuery(store, tenant, q, ctx, undefined, { catalog: index });
  const byRegion = (r: typeof wide) =>
    [...r.series].sort((a, b) => a.labels.region.localeCompare(b.labels.region));
  assert.deepEqual(byRegion(named), byRegion(wide));
});
