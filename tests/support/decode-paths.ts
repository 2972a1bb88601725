/**
 * Runs a decoder without a series cache, then with a cold and a warm one, asserts that
 * all three say the same, and returns the uncached result: every decoder test then
 * also checks that the cache changes nothing.
 *
 * @example
 * const result = decodeAllPaths(ctx, (c) => decodeNative(body, "application/x-ndjson", c));
 */
import assert from "node:assert/strict";
import type { DecodeContext, DecodeResult } from "../../commands/ingest/decode-context.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";

/** A decode context for tenant `acme` at `now`: default limits, 7 days back, 10 minutes ahead. */
export function decodeContext(now: number): DecodeContext {
  return { tenant: "acme", limits: defaultLabelLimits, now, maxAgeMs: 7 * 86_400_000, maxFutureMs: 600_000 };
}

export function decodeAllPaths<R extends DecodeResult>(
  ctx: DecodeContext,
  decode: (ctx: DecodeContext) => R,
): R {
  const plain = decode({ ...ctx, seriesCache: undefined });
  const cached = { ...ctx, seriesCache: new SeriesCache(1024) };
  const expected = observed(plain);
  assert.deepEqual(observed(decode(cached)), expected, "cold series cache");
  assert.deepEqual(observed(decode(cached)), expected, "warm series cache");
  return plain;
}

/** Everything a decode result says, in a form deepEqual compares exactly (NaN, -0). */
export function observed(result: DecodeResult) {
  const { batch } = result;
  if (batch.seriesIds !== undefined) {
    const ids = batch.series.flatMap((s) => [s.id.lo, s.id.hi]);
    assert.deepEqual([...batch.seriesIds], ids, "the batch's id words are its series' ids, in order");
  }
  const samples: [string, string, string][] = [];
  for (let i = 0; i < batch.length; i++) {
    samples.push([
      batch.series[batch.seriesIndex[i]].id.hex,
      String(batch.timestamps[i]),
      Object.is(batch.values[i], -0) ? "-0" : String(batch.values[i]),
    ]);
  }
  return {
    series: batch.series.map((s) => ({ id: s.id.hex, metric: s.metric, labels: { ...s.labels } })),
    samples,
    rejectedSeries: result.rejectedSeries,
    rejectedSamples: result.rejectedSamples,
    accepted: result.acceptedSamples,
  };
}
