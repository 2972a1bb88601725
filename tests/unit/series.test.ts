import assert from "node:assert/strict";
import {
  canonicalSeries,
  murmur3,
  partitionOf,
  seriesId,
  seriesIdFromDecimal,
  seriesIdToDecimal,
} from "../../domain/series.ts";

Deno.test("series id: golden values stay the same across processes and releases", () => {
  // Ids are persisted in ClickHouse and used for log partitioning: changing the hash
  // would split every series in two. These values must never change; they agree with
  // Python's mmh3 (hash(canonical_bytes, seed, signed=False) for each word).
  assert.equal(seriesId("acme", "cpu_usage", { host: "a", mode: "user" }).hex, "135afcbc166c928e");
  assert.equal(seriesId("acme", "up", {}).hex, "36c17be0a4c1af4d");
  assert.equal(seriesId("globex", "up", {}).hex, "5644a91b0da71b8b");
});

Deno.test("series id: label order does not matter, label values and tenant do", () => {
  const a = seriesId("acme", "cpu", { host: "a", mode: "user" });
  const b = seriesId("acme", "cpu", { mode: "user", host: "a" });
  assert.equal(a.hex, b.hex);
  assert.notEqual(seriesId("acme", "cpu", { host: "b", mode: "user" }).hex, a.hex);
  assert.notEqual(seriesId("globex", "cpu", { host: "a", mode: "user" }).hex, a.hex);
  // The separator keeps ("ab","c") and ("a","bc") apart.
  assert.notEqual(seriesId("t", "m", { ab: "c" }).hex, seriesId("t", "m", { a: "bc" }).hex);
});

Deno.test("series id: canonical form sorts labels and separates with NUL", () => {
  assert.equal(canonicalSeries("t", "m", { b: "2", a: "1" }), "t\0m\0a\x001\0b\x002");
});

Deno.test("series id: UTF-8 label values hash by their bytes", () => {
  const id = seriesId("acme", "temp", { room: "küche" });
  assert.equal(id.hex, seriesId("acme", "temp", { room: "k\u00fcche" }).hex);
  assert.notEqual(id.hex, seriesId("acme", "temp", { room: "kuche" }).hex);
});

Deno.test("murmur3 x86_32 matches the reference test vectors", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const h = (s: string, seed: number) => murmur3(bytes(s), bytes(s).length, seed);
  assert.equal(h("", 0), 0);
  assert.equal(h("", 1), 0x514e28b7);
  assert.equal(h("hello", 0), 0x248bfa47);
  assert.equal(h("The quick brown fox jumps over the lazy dog", 0), 0x2e4ff723);
  assert.equal(h("abc", 0), 0xb3dd93fa);
});

Deno.test("series id: decimal round trip and partitioning are stable", () => {
  const id = seriesId("acme", "cpu_usage", { host: "a" });
  assert.equal(seriesIdFromDecimal(seriesIdToDecimal(id)).hex, id.hex);
  const p = partitionOf(id, 8);
  assert.ok(p >= 0 && p < 8);
  assert.equal(partitionOf(seriesId("acme", "cpu_usage", { host: "a" }), 8), p);
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[partitionOf(seriesId("acme", "m", { i: String(i) }), 8)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `partition sizes should be even, got ${counts}`);
});
