/**
 * The range-query cache over the real pipeline: closed steps are answered from the
 * cache (a row slipped into raw behind the log's back does not show), and a late
 * sample of the tenant, recorded by the rollup projection, drops the entry so the
 * answer includes it.
 */
import assert from "node:assert/strict";
import { RangeResultCache } from "../../read-models/promql/result-cache.ts";
import { ACME_KEY, openPromApp } from "../support/prom-app.ts";

Deno.test("prometheus cache: closed steps come from the cache until late data corrects them", async () => {
  const cache = new RangeResultCache({ maxEntries: 10 });
  const p = await openPromApp({ cache });
  try {
    const now = Date.now();
    const first = Math.floor((now - 30 * 60_000) / 60_000) * 60_000;
    const times = Array.from({ length: 120 }, (_, i) => first + i * 15_000).filter((t) => t <= now);
    // Enough series that every partition holds a watermark for the tenant.
    await p.ingest(
      ACME_KEY,
      Array.from({ length: 32 }, (_, i) => ({
        metric: "load",
        labels: { host: `h${i}` },
        timestamps: times,
        values: times.map(() => 1),
      })),
    );
    const params = {
      query: 'count_over_time(load{host="h0"}[5m])',
      start: String(first / 1000),
      end: String(Math.floor(now / 60_000) * 60),
      step: "60",
    };
    const ask = async () => {
      const res = await p.prom(ACME_KEY, "/api/v1/query_range", params);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [series] = (res.body.data as { result: { values: [number, string][] }[] }).result;
      return new Map(series.values.map(([t, v]) => [t, Number(v)]));
    };
    const before = await ask();
    assert.equal(cache.stats.misses, 1);
    assert.deepEqual(await ask(), before);
    assert.equal(cache.stats.hits, 1);

    const lateTs = first + 10 * 60_000 + 7_000;
    const step = (Math.floor(lateTs / 60_000) + 1) * 60;
    assert.equal(before.get(step), 20);
    // A row slipped into raw behind the log's back does not show: the step is cached.
    const [{ id }] = await p.pipeline.store.query<{ id: string }>(
      "SELECT toString(series_id) AS id FROM series WHERE tenant = {t:String} AND labels['host'] = 'h0' LIMIT 1",
      { t: p.acme },
    );
    const big = BigInt(id);
    await p.pipeline.store.insertBlock({
      rows: 1,
      columns: [
        {
          name: "id",
          type: "UInt64",
          data: new Uint32Array([Number(big & 0xffffffffn), Number(big >> 32n)]),
        },
        { name: "v", type: "Float64", data: new Float64Array([1]) },
      ],
    }, [{
      sql:
        `INSERT INTO samples (tenant, series_id, ts, value) SELECT '${p.acme}', id, fromUnixTimestamp64Milli(${
          lateTs + 1000
        }), v FROM {source}`,
    }]);
    assert.equal((await ask()).get(step), 20);
    assert.equal(cache.stats.hits, 2);
    const late = { metric: "load", labels: { host: "h0" }, timestamps: [lateTs], values: [5] };
    // Through the log, the same sample is late: the watermark is about five minutes before now.
    await p.ingest(ACME_KEY, [late]);
    const after = await ask();
    assert.equal(cache.stats.invalidations, 1, "the late sample dropped the entry");
    assert.equal(after.get(step), 22, "both the late sample and the slipped row now count");
    assert.deepEqual(await ask(), after);
    assert.equal(cache.stats.hits, 3);
  } finally {
    await p.close();
  }
});
