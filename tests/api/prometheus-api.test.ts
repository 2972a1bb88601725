/**
 * The Prometheus HTTP API through `app.request()` over the real pipeline: envelope,
 * GET and POST forms, matchers, range functions with counter resets against values
 * computed by hand from Prometheus' formulas, vector matching, staleness, error
 * types, and tenant isolation on every endpoint.
 */
import assert from "node:assert/strict";
import { ACME_KEY, GLOBEX_KEY, openPromApp, type PromApp } from "../support/prom-app.ts";

const STEP = 15_000;
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const times = Array.from({ length: 120 }, (_, i) => T0 + i * STEP);
const at = (ms: number) => String(ms / 1000);

async function seeded(catalog: "index" | "table" = "index"): Promise<PromApp> {
  const p = await openPromApp({ catalog });
  await p.ingest(ACME_KEY, [
    // A counter that resets after 50 samples.
    {
      metric: "req_total",
      labels: { job: "api", i: "a" },
      timestamps: times,
      values: times.map((_, i) => (i % 50) * 10),
    },
    {
      metric: "req_total",
      labels: { job: "web", i: "b" },
      timestamps: times,
      values: times.map((_, i) => i * 3),
    },
    {
      metric: "temp",
      labels: { region: "eu", host: "h1" },
      timestamps: times,
      values: times.map((_, i) => 20 + (i % 7)),
    },
    {
      metric: "temp",
      labels: { region: "us", host: "h2" },
      timestamps: times,
      values: times.map((_, i) => 10 + (i % 3)),
    },
    { metric: "limit", labels: { region: "eu" }, timestamps: times, values: times.map(() => 22) },
  ]);
  await p.ingest(GLOBEX_KEY, [
    { metric: "req_total", labels: { job: "api", i: "z" }, timestamps: times, values: times.map(() => 999) },
  ]);
  return p;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function vector(p: PromApp, query: string, time: number, key = ACME_KEY): Promise<Vector> {
  const res = await p.prom(key, "/api/v1/query", { query, time: at(time) });
  assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.status, "success");
  const data = res.body.data as { resultType: string; result: Vector };
  assert.equal(data.resultType, "vector");
  return data.result.sort((a, b) => JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1);
}

Deno.test("prometheus api: selectors, matchers, rate with a counter reset, aggregation, matching", async () => {
  const p = await seeded();
  try {
    const t = T0 + 900_000;
    const all = await vector(p, "req_total", t);
    assert.deepEqual(all.map((s) => [s.metric.i, s.value[1]]), [["a", "100"], ["b", "180"]]);
    assert.deepEqual((await vector(p, 'req_total{job!="api"}', t)).map((s) => s.metric.i), ["b"]);
    assert.deepEqual((await vector(p, 'req_total{job=~"a.."}', t)).map((s) => s.metric.i), ["a"]);
    assert.deepEqual((await vector(p, 'req_total{job!~"a.*"}', t)).map((s) => s.metric.i), ["b"]);
    assert.deepEqual((await vector(p, '{__name__=~"req_.*", i="a"}', t)).map((s) => s.metric.__name__), [
      "req_total",
    ]);
    // Window (600 s, 900 s]: samples 41..60, values 410..490 then 0..100 after the reset;
    // increase 180 over 285 s sampled, extrapolated 15 s to the start (below 1.1 × 15 s).
    const [rate] = await vector(p, 'rate(req_total{i="a"}[5m])', t);
    assert.deepEqual(rate.metric, { job: "api", i: "a" });
    assert.ok(Math.abs(Number(rate.value[1]) - 180 * (300 / 285) / 300) < 1e-12, rate.value[1]);
    const [irate] = await vector(p, 'irate(req_total{i="a"}[5m])', t);
    assert.equal(Number(irate.value[1]), 10 / 15);
    const sum = await vector(p, "sum by (region) (temp)", t);
    assert.deepEqual(sum.map((s) => [s.metric, s.value[1]]), [[{ region: "eu" }, String(20 + (60 % 7))], [
      { region: "us" },
      String(10 + (60 % 3)),
    ]]);
    const over = await vector(p, "temp > on(region) group_left limit", t);
    // A comparison filters and keeps the name: 24 > 22 holds for h1 at sample 60.
    assert.deepEqual(over.map((s) => [s.metric, s.value[1]]), [[{
      __name__: "temp",
      region: "eu",
      host: "h1",
    }, "24"]]);
    const ratio = await vector(p, "temp / on(region) group_left limit", t);
    assert.deepEqual(ratio.map((s) => [s.metric, s.value[1]]), [[
      { region: "eu", host: "h1" },
      String(24 / 22),
    ]]);
    const offset = await vector(p, 'req_total{i="b"} offset 5m', t);
    assert.equal(offset[0].value[1], String(40 * 3));
    const pinned = await vector(p, `req_total{i="b"} @ ${at(T0 + 300_000)}`, t);
    assert.equal(pinned[0].value[1], String(20 * 3));
    // 5-minute lookback: nothing after the last sample plus 5 minutes.
    const last = times[times.length - 1];
    assert.equal((await vector(p, 'req_total{i="b"}', last + 299_000)).length, 1);
    assert.equal((await vector(p, 'req_total{i="b"}', last + 300_000)).length, 0);
  } finally {
    await p.close();
  }
});

Deno.test("prometheus api: query_range by GET and POST form, step grid, envelope", async () => {
  const p = await seeded();
  try {
    const params = {
      query: 'max_over_time(temp{host="h2"}[1m])',
      start: at(T0 + 60_000),
      end: at(T0 + 600_000),
      step: "60",
    };
    const get = await p.prom(ACME_KEY, "/api/v1/query_range", params);
    const post = await p.prom(ACME_KEY, "/api/v1/query_range", params, "POST");
    assert.equal(get.status, 200);
    assert.deepEqual(post.body, get.body);
    const data = get.body.data as {
      resultType: string;
      result: { metric: object; values: [number, string][] }[];
    };
    assert.equal(data.resultType, "matrix");
    assert.deepEqual(data.result[0].metric, { region: "us", host: "h2" });
    assert.deepEqual(
      data.result[0].values.map(([ts]) => ts),
      Array.from({ length: 10 }, (_, i) => (T0 + 60_000 * (i + 1)) / 1000),
    );
    assert.ok(data.result[0].values.every(([, v]) => v === "12"));
  } finally {
    await p.close();
  }
});

Deno.test("prometheus api: errors are bad_data 400 and execution 422 naming the function", async () => {
  const p = await seeded();
  try {
    const syntax = await p.prom(ACME_KEY, "/api/v1/query", { query: "sum(" });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.errorType, "bad_data");
    const unsupported = await p.prom(ACME_KEY, "/api/v1/query", { query: "predict_linear(temp[5m], 60)" });
    assert.equal(unsupported.status, 422);
    assert.equal(unsupported.body.errorType, "execution");
    assert.match(unsupported.body.error!, /predict_linear/);
    const missing = await p.prom(ACME_KEY, "/api/v1/query_range", { query: "temp", start: "1", end: "2" });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error!, /step/);
    const tooFine = await p.prom(ACME_KEY, "/api/v1/query_range", {
      query: "temp",
      start: "0",
      end: "100000",
      step: "1",
    });
    assert.equal(tooFine.status, 400);
    assert.match(tooFine.body.error!, /resolution/);
    const badTime = await p.prom(ACME_KEY, "/api/v1/query", { query: "temp", time: "yesterday" });
    assert.equal(badTime.status, 400);
    const build = await p.app.request("/api/v1/status/buildinfo", {
      headers: { authorization: `Bearer ${ACME_KEY}` },
    });
    assert.equal((await build.json()).status, "success");
  } finally {
    await p.close();
  }
});

for (const catalog of ["index", "table"] as const) {
  Deno.test(`prometheus api: tenant isolation on every query endpoint, series from the ${catalog}`, async () => {
    await tenantIsolation(await seeded(catalog));
  });
}

async function tenantIsolation(p: PromApp): Promise<void> {
  try {
    const t = T0 + 900_000;
    const range = { start: at(T0), end: at(t) };
    const globexOnly = await vector(p, "req_total", t, GLOBEX_KEY);
    assert.deepEqual(globexOnly.map((s) => s.metric.i), ["z"]);
    const sums = await vector(p, "sum(req_total)", t, GLOBEX_KEY);
    assert.equal(sums[0].value[1], "999");
    const r = await p.prom(GLOBEX_KEY, "/api/v1/query_range", { query: "count(temp)", ...range, step: "60" });
    assert.deepEqual((r.body.data as { result: unknown[] }).result, []);
    const series = await p.prom(GLOBEX_KEY, "/api/v1/series", { "match[]": '{__name__=~".+"}', ...range });
    assert.deepEqual(series.body.data, [{ __name__: "req_total", job: "api", i: "z" }]);
    // POST with a form body is the Prometheus lookup (a JSON body on this path is Datadog's v1 intake).
    const posted = await p.prom(
      GLOBEX_KEY,
      "/api/v1/series",
      { "match[]": '{__name__=~".+"}', ...range },
      "POST",
    );
    assert.deepEqual(posted.body.data, series.body.data);
    const labels = await p.prom(GLOBEX_KEY, "/api/v1/labels", range, "POST");
    assert.deepEqual(labels.body.data, ["__name__", "i", "job"]);
    const names = await p.prom(GLOBEX_KEY, "/api/v1/label/__name__/values", range);
    assert.deepEqual(names.body.data, ["req_total"]);
    const regions = await p.prom(GLOBEX_KEY, "/api/v1/label/region/values", range);
    assert.deepEqual(regions.body.data, []);
    const acmeRegions = await p.prom(ACME_KEY, "/api/v1/label/region/values", {
      ...range,
      "match[]": "temp",
    });
    assert.deepEqual(acmeRegions.body.data, ["eu", "us"]);
    const noKey = await p.app.request(`/api/v1/query?query=req_total`);
    assert.equal(noKey.status, 401);
  } finally {
    await p.close();
  }
}

Deno.test("prometheus api: a stale marker, stored as sent, ends the series for instant selection", async () => {
  // The series row is written straight into the table, past the projection that feeds the index.
  const p = await seeded("table");
  try {
    const id = 0x5eed_0001;
    const day = new Date(T0).toISOString().slice(0, 10);
    await p.pipeline.store.insertRows("series", [
      { tenant: p.acme, metric: "flaky", series_id: String(id), labels: { host: "h9" }, day },
    ]);
    const ts = [T0, T0 + 15_000, T0 + 30_000, T0 + 45_000];
    // Built from the bits: a JS number holding the marker would come out quieted.
    const values = new Float64Array(
      new BigUint64Array([
        0x3ff0000000000000n, // 1
        0x4000000000000000n, // 2
        0x7ff0000000000002n, // stale marker
        0x4010000000000000n, // 4
      ]).buffer,
    );
    await p.pipeline.store.insertBlock({
      rows: ts.length,
      columns: [
        { name: "id", type: "UInt64", data: new Uint32Array(ts.flatMap(() => [id, 0])) },
        {
          name: "ts",
          type: "Int64",
          data: new Uint32Array(ts.flatMap((t) => [t % 2 ** 32, Math.floor(t / 2 ** 32)])),
        },
        { name: "v", type: "Float64", data: values },
      ],
    }, [{
      sql:
        `INSERT INTO samples (tenant, series_id, ts, value) SELECT '${p.acme}', id, fromUnixTimestamp64Milli(ts), v FROM {source}`,
    }]);
    assert.equal((await vector(p, "flaky", T0 + 20_000))[0].value[1], "2");
    assert.deepEqual(
      await vector(p, "flaky", T0 + 40_000),
      [],
      "the stale marker hides the sample before it",
    );
    assert.equal((await vector(p, "flaky", T0 + 50_000))[0].value[1], "4");
    // Range selection drops the marker: three samples, and a real NaN would count.
    assert.equal((await vector(p, "count_over_time(flaky[1m])", T0 + 50_000))[0].value[1], "3");
  } finally {
    await p.close();
  }
});
