import assert from "node:assert/strict";
import { type KnownSeries, SeriesCache } from "../../commands/ingest/series-cache.ts";

const known = (metric: string): KnownSeries => ({ metric, rejection: "test" });

Deno.test("series cache: holds at most two generations; a hit in the older one is kept", () => {
  const cache = new SeriesCache(4); // generations of 2
  cache.set("a", known("a"));
  cache.set("b", known("b"));
  cache.set("c", known("c")); // a, b become the previous generation
  assert.equal(cache.get("a")?.metric, "a"); // moved to the current one: c, a
  cache.set("d", known("d")); // c, a previous; b dropped
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a")?.metric, "a");
  assert.equal(cache.get("c")?.metric, "c");
  assert.ok(cache.size <= 4);
  assert.deepEqual(cache.stats, { hits: 3, misses: 1 });
});

Deno.test("series cache: a burst of one-off series ages out after two turns", () => {
  const cache = new SeriesCache(100);
  cache.set("steady", known("steady"));
  for (let i = 0; i < 1000; i++) {
    cache.set(`burst-${i}`, known("burst"));
    if (i % 25 === 0) assert.ok(cache.get("steady"), `steady series kept at ${i}`);
  }
  assert.ok(cache.size <= 100);
  assert.equal(cache.get("burst-0"), undefined);
  assert.ok(cache.get("burst-999"));
});
