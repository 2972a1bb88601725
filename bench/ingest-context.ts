/**
 * The decode context the ingest benchmarks run with: tenant `bench`, the default label
 * limits, raw retention of 7 days, 10 minutes into the future, and a series cache of its
 * own (a fresh context is a tenant ingest has not seen yet).
 *
 * @example
 * const ctx = benchIngestContext(Date.now());
 */
import type { DecodeContext } from "../commands/ingest/decode-context.ts";
import { SeriesCache } from "../commands/ingest/series-cache.ts";
import { defaultLabelLimits } from "../domain/label-rules.ts";

export function benchIngestContext(now: number): DecodeContext {
  return {
    tenant: "bench",
    limits: defaultLabelLimits,
    now,
    maxAgeMs: 7 * 86_400_000,
    maxFutureMs: 600_000,
    seriesCache: new SeriesCache(262_144),
  };
}
