/**
 * `GET /v1/cardinality`: for the tenant of the key, the metrics with the most active
 * series (ingest's own count, the one the limits apply to), the label names and label
 * values with the most series in the series index, and how close the tenant is to each
 * limit. `?limit=` caps each list (default 10).
 *
 * @example
 * curl -s localhost:8080/v1/cardinality -H "Authorization: Bearer $KEY"
 * // {"activeSeries":…,"limits":{"activeSeries":{"used":…,"limit":…,"ratio":…},…},"topMetrics":[…],…}
 */
import { Hono } from "hono";
import { z } from "zod";
import { ValidationError } from "../../domain/errors.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { labelCardinality } from "../../read-models/cardinality.ts";
import type { IngestLimits } from "./ingest-limits.ts";
import type { TenantEnv } from "./app.ts";

export interface CardinalityOptions {
  readonly limits: IngestLimits;
  readonly store?: AnalyticsStore;
  readonly now: () => number;
}

const Query = z.object({ limit: z.coerce.number().int().positive().max(1000).default(10) });

export function cardinalityRoutes(options: CardinalityOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  app.get("/v1/cardinality", async (c) => {
    const parsed = Query.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ValidationError(`Cannot report cardinality: ${parsed.error.issues[0].message}`);
    }
    const { limit } = parsed.data;
    const tenant = c.get("tenant");
    const now = options.now();
    const settings = options.limits.settings(tenant);
    const active = options.limits.series(tenant, now);
    const topMetrics = active.topMetrics(limit).map(([metric, series]) => ({ metric, series }));
    const largest = topMetrics[0]?.series ?? 0;
    const bucket = options.limits.rate(tenant, now);
    const windowDays = Math.ceil((2 * settings.activeSeriesWindowMs) / 86_400_000);
    const fromDay = new Date(now - windowDays * 86_400_000).toISOString().slice(0, 10);
    const labels = options.store
      ? await labelCardinality(options.store, tenant, { fromDay, limit })
      : { labelNames: [], labelValues: [] };
    return c.json({
      tenant,
      activeSeries: active.count,
      limits: {
        activeSeries: usage(active.count, settings.maxActiveSeries),
        activeSeriesPerMetric: {
          ...usage(largest, settings.maxActiveSeriesPerMetric),
          metric: topMetrics[0]?.metric,
        },
        ingestRate: bucket
          ? {
            rate: settings.ingestRate,
            burst: settings.ingestBurst,
            availableBurst: Math.floor(bucket.available(now)),
            ratio: round(1 - bucket.available(now) / settings.ingestBurst),
          }
          : null,
        activeSeriesWindowSeconds: settings.activeSeriesWindowMs / 1000,
      },
      topMetrics,
      ...labels,
    });
  });
  return app;
}

function usage(used: number, limit: number) {
  return { used, limit, ratio: round(used / limit) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
