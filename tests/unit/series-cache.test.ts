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

Deno.test("series cache: an entry remembers its successor while both are cached", () => {
  const cache = new SeriesCache(4); // generations of 2
  const a = cache.set("a", known("a"));
  const b = cache.set("b", known("b"));
  cache.link(a, b);
  assert.equal(cache.successor(a, (key) => key === "b"), b);
  assert.equal(cache.successor(a, (key) => key === "x"), undefined, "a successor that does not match");
  const before = cache.stats.hits;
  cache.set("c", known("c"));
  cache.set("d", known("d"));
  cache.set("e", known("e")); // a and b were not used since c arrived: b is gone
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.successor(a, () => true), undefined, "an evicted successor is not predicted");
  assert.equal(cache.stats.hits, before);
});
