import assert from "node:assert/strict";
import { ActiveSeries } from "../../domain/limits/active-series.ts";
import { TokenBucket } from "../../domain/limits/token-bucket.ts";
import { seriesId } from "../../domain/series.ts";

const T0 = 1_700_000_000_000;
const id = (n: number) => seriesId("acme", "m", { n: String(n) });

Deno.test("token bucket: given a full burst, when it is spent, then a request waits for the refill", () => {
  const bucket = new TokenBucket({ rate: 1000, burst: 2000 }, T0);
  assert.deepEqual(bucket.take(1500, T0), { ok: true });
  const refused = bucket.take(1000, T0);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.retryAfterMs, 500); // 500 tokens short at 1000/s
  assert.deepEqual(bucket.take(1000, T0 + 500), { ok: true });
  assert.equal(bucket.available(T0 + 100_000), 2000, "refill stops at the burst");
  assert.deepEqual(bucket.precheck(T0 + 100_000), { ok: true });
  const tooBig = bucket.take(2001, T0 + 100_000);
  assert.ok(!tooBig.ok && tooBig.retryAfterMs === 0 && /more than the burst of 2000/.test(tooBig.reason));
});

Deno.test("active series: new series stop at the tenant limit while active ones keep being admitted", () => {
  const active = new ActiveSeries({ maxSeries: 3, maxSeriesPerMetric: 10, windowMs: 60_000 }, T0);
  for (let n = 0; n < 3; n++) assert.equal(active.admit(id(n), "m", T0), undefined);
  assert.match(active.admit(id(3), "m", T0) ?? "", /^the tenant has 3 active series, its limit/);
  for (let n = 0; n < 3; n++) assert.equal(active.admit(id(n), "m", T0 + 1), undefined, `existing ${n}`);
  assert.equal(active.count, 3);
});

Deno.test("active series: the per-metric limit refuses only that metric's new series", () => {
  const active = new ActiveSeries({ maxSeries: 100, maxSeriesPerMetric: 2, windowMs: 60_000 }, T0);
  const of = (metric: string, n: number) => seriesId("acme", metric, { n: String(n) });
  assert.equal(active.admit(of("a", 1), "a", T0), undefined);
  assert.equal(active.admit(of("a", 2), "a", T0), undefined);
  assert.match(
    active.admit(of("a", 3), "a", T0) ?? "",
    /^metric "a" has 2 active series, the limit per metric/,
  );
  assert.equal(active.admit(of("b", 1), "b", T0), undefined);
  assert.deepEqual(active.topMetrics(5), [["a", 2], ["b", 1]]);
});

Deno.test("active series: a series is active for one to two windows after its last sample", () => {
  const active = new ActiveSeries({ maxSeries: 2, maxSeriesPerMetric: 2, windowMs: 60_000 }, T0);
  active.admit(id(1), "m", T0);
  active.admit(id(2), "m", T0);
  // Window 2: only series 1 is sent; series 2 is still active (previous generation).
  assert.equal(active.admit(id(1), "m", T0 + 60_000), undefined);
  assert.equal(active.count, 2);
  assert.ok(active.admit(id(3), "m", T0 + 60_001) !== undefined, "still at the limit");
  // Window 3: series 2 went a whole window without samples and is dropped.
  assert.equal(active.admit(id(1), "m", T0 + 120_000), undefined);
  assert.equal(active.count, 1);
  assert.equal(active.admit(id(3), "m", T0 + 120_001), undefined);
  // A pause of two windows leaves nothing active.
  active.admit(id(1), "m", T0 + 400_000);
  assert.equal(active.count, 1);
  assert.equal(active.ofMetric("m"), 1);
});

Deno.test("token bucket: after a refusal, requests are refused before decoding until that many tokens are back", () => {
  const bucket = new TokenBucket({ rate: 1000, burst: 2000 }, T0);
  assert.deepEqual(bucket.take(1800, T0), { ok: true });
  assert.equal(bucket.take(1000, T0).ok, false); // 200 tokens left
  const early = bucket.precheck(T0 + 100);
  assert.ok(!early.ok && early.retryAfterMs === 700, JSON.stringify(early)); // 300 of 1000 there
  assert.deepEqual(bucket.precheck(T0 + 800), { ok: true });
  assert.deepEqual(bucket.take(1000, T0 + 800), { ok: true });
  assert.deepEqual(
    bucket.precheck(T0 + 801),
    { ok: true },
    "a success clears the guess: one token is enough",
  );
});
