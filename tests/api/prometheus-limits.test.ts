/**
 * Query limits of the Prometheus API: series per selector, samples read and steps per
 * series each answer 422 `execution` (400 for the steps, as Prometheus) with the
 * reason, and the same query under the limits still answers.
 */
import assert from "node:assert/strict";
import { ACME_KEY, openPromApp } from "../support/prom-app.ts";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const times = Array.from({ length: 40 }, (_, i) => T0 + i * 15_000);

Deno.test("prometheus limits: series, samples and resolution over the limit are refused with the reason", async () => {
  const p = await openPromApp({ limits: { maxSeries: 2, maxSamples: 100, maxPoints: 50 } });
  try {
    await p.ingest(
      ACME_KEY,
      ["a", "b", "c"].map((host) => ({
        metric: "load",
        labels: { host },
        timestamps: times,
        values: times.map((_, i) => i),
      })),
    );
    const time = String((T0 + 600_000) / 1000);
    const ok = await p.prom(ACME_KEY, "/api/v1/query", { query: 'load{host=~"a|b"}', time });
    assert.equal(ok.status, 200);
    assert.equal((ok.body.data as { result: unknown[] }).result.length, 2);

    const series = await p.prom(ACME_KEY, "/api/v1/query", { query: "load", time });
    assert.equal(series.status, 422);
    assert.equal(series.body.errorType, "execution");
    assert.match(series.body.error!, /more than 2 series/);

    // Each selector reads 39 samples in (T0, T0 + 600 s]: two stay under 100, three do not.
    const two = 'count_over_time(load{host="a"}[10m]) + ignoring(host) count_over_time(load{host="b"}[10m])';
    assert.equal((await p.prom(ACME_KEY, "/api/v1/query", { query: two, time })).status, 200);
    const samples = await p.prom(ACME_KEY, "/api/v1/query", {
      query: `${two} + ignoring(host) count_over_time(load{host="c"}[10m])`,
      time,
    });
    assert.equal(samples.status, 422);
    assert.match(samples.body.error!, /more than 100 samples/);

    const steps = await p.prom(ACME_KEY, "/api/v1/query_range", {
      query: 'load{host="a"}',
      start: String(T0 / 1000),
      end: String(T0 / 1000 + 3600),
      step: "60",
    });
    assert.equal(steps.status, 400);
    assert.match(steps.body.error!, /61 points per series is over the maximum resolution of 50/);
  } finally {
    await p.close();
  }
});
