import assert from "node:assert/strict";
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeInflux, influxPrecision } from "../../commands/ingest/influx.ts";
import { decodeNative } from "../../commands/ingest/native.ts";
import { type KnownSeries, MAX_REJECTED_KEY_CHARS, SeriesCache } from "../../commands/ingest/series-cache.ts";
import type { SeriesDef } from "../../domain/series.ts";
import { decodeContext } from "../support/decode-paths.ts";

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
  assert.equal(cache.successor(a, (next) => next.key === "b"), b);
  assert.equal(cache.successor(a, (next) => next.key === "x"), undefined, "a successor that does not match");
  const before = cache.stats.hits;
  cache.set("c", known("c"));
  cache.set("d", known("d"));
  cache.set("e", known("e")); // a and b were not used since c arrived: b is gone
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.successor(a, () => true), undefined, "an evicted successor is not predicted");
  assert.equal(cache.stats.hits, before);
});

Deno.test("series cache: a forgotten entry is gone, also as a predicted successor", () => {
  const cache = new SeriesCache(8);
  const a = cache.set("a", known("a"));
  const b = cache.set("b", known("b"));
  cache.link(a, b);
  cache.forget(b);
  cache.forget(b); // twice is harmless
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.successor(a, () => true), undefined);
  assert.equal(cache.size, 1);
});

Deno.test("series cache: a rejected series with a key past the bound is answered but not kept", () => {
  const cache = new SeriesCache(8);
  const long = "x".repeat(MAX_REJECTED_KEY_CHARS + 1);
  assert.equal(cache.set(long, known("long")).rejection, "test");
  assert.equal(cache.get(long), undefined);
  assert.equal(cache.size, 0);
  // An accepted series of the same length is kept: its verdict saves the most work.
  const def = { id: { lo: 1, hi: 2, hex: "01" }, metric: "m", labels: {} } as unknown as SeriesDef;
  cache.set(long, { metric: "m", def });
  assert.equal(cache.get(long)?.def, def);
});

Deno.test("series cache: series the cardinality limit refuses do not stay (native and Influx; every decoder shares addKnown)", () => {
  const now = Date.UTC(2024, 0, 15, 12);
  const bodies: [string, (i: number) => string, (text: string, ctx: DecodeContext) => unknown][] = [
    [
      "native",
      (i) => `{"metric":"m","labels":{"s":"${i}"},"timestamps":[${now}],"values":[1]}`,
      (text, ctx) => decodeNative(text, "application/x-ndjson", ctx),
    ],
    [
      "influx",
      (i) => `m,s=${i} value=1 ${now}`,
      (text, ctx) => decodeInflux(text, influxPrecision("ms"), ctx),
    ],
  ];
  for (const [name, line, decode] of bodies) {
    const cache = new SeriesCache(100_000);
    const admitted = new Set<string>();
    const ctx: DecodeContext = {
      ...decodeContext(now),
      seriesCache: cache,
      admit: (def) =>
        admitted.has(def.id.hex) || admitted.size < 10 ? void admitted.add(def.id.hex) : "over the limit",
    };
    for (let request = 0; request < 10; request++) {
      const text = Array.from({ length: 1000 }, (_, i) => line(request * 1000 + i)).join("\n");
      decode(text, ctx);
    }
    assert.equal(admitted.size, 10, name);
    assert.equal(cache.size, 10, `${name}: only the admitted series are cached`);
    // The admitted ones are still hits.
    const hits = cache.stats.hits;
    decode(Array.from({ length: 10 }, (_, i) => line(i)).join("\n"), ctx);
    assert.ok(cache.stats.hits >= hits + 10, name);
  }
});
