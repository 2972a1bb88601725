/**
 * Query endpoints for dashboards: `POST /v1/query`, `GET /v1/series`,
 * `GET /v1/labels` and `GET /v1/labels/:name/values`. Bodies and query strings are
 * validated with zod; the tenant comes from the API key only.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ValidationError } from "../../domain/errors.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import { findSeries, labelNames, labelValues } from "../../read-models/discovery.ts";
import type { RouteContext } from "../../read-models/resolution.ts";
import { AGGREGATIONS, type QueryLimits, runSampleQuery } from "../../read-models/sample-query.ts";
import type { PackedMarks } from "../../read-models/packed-marks.ts";
import type { RecentSamples } from "../../read-models/recent-samples.ts";
import type { TenantEnv } from "./app.ts";

export interface QueryOptions {
  readonly store: AnalyticsStore;
  /** Resolves the series of a query in the process; the `series` table answers what it hands back. */
  readonly catalog?: SeriesCatalog;
  /** The head of recent samples this process's raw projection feeds, for the raw part of queries. */
  readonly head?: RecentSamples;
  /** The tenants' packed-through marks, read at most once a second instead of per query. */
  readonly marks?: PackedMarks;
  readonly limits: QueryLimits;
  readonly context: () => RouteContext;
}

const millis = z.number().int().nonnegative();

const QueryBody = z.object({
  metric: z.string().min(1),
  filters: z.record(z.string(), z.string()).default({}),
  agg: z.enum(AGGREGATIONS).default("avg"),
  by: z.array(z.string()).optional(),
  from: millis,
  to: millis,
  step: z.number().int().positive(),
  resolution: z.enum(["auto", "raw", "1m", "1h"]).default("auto"),
}).strict();

const DiscoveryQuery = z.object({
  metric: z.string().optional(),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().positive().max(100_000).default(10_000),
});

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ValidationError(`Cannot run ${what}: ${issue.path.join(".") || "body"}: ${issue.message}`);
}

/** Label filters given as `match[label]=value` query parameters. */
function labelFilters(url: URL): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    const m = /^match\[(.+)\]$/.exec(key);
    if (m) filters[m[1]] = value;
  }
  return filters;
}

export function queryRoutes(options: QueryOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();

  app.post("/v1/query", async (c) => {
    const body = parse(QueryBody, await c.req.json(), "query");
    const result = await runSampleQuery(
      options.store,
      c.get("tenant"),
      body,
      options.context(),
      options.limits,
      { catalog: options.catalog, head: options.head, marks: options.marks },
    );
    return c.json(result);
  });

  app.get("/v1/series", async (c) => {
    const q = parse(DiscoveryQuery, c.req.query(), "series lookup");
    const filters = labelFilters(new URL(c.req.url));
    const series = await findSeries(options.store, c.get("tenant"), { ...q, filters });
    return c.json({ series });
  });

  app.get("/v1/labels", async (c) => {
    const q = parse(DiscoveryQuery, c.req.query(), "label lookup");
    const names = await labelNames(options.store, c.get("tenant"), {
      ...q,
      filters: labelFilters(new URL(c.req.url)),
    });
    return c.json({ labels: names });
  });

  app.get("/v1/labels/:name/values", async (c) => {
    const q = parse(DiscoveryQuery, c.req.query(), "label value lookup");
    const values = await labelValues(options.store, c.get("tenant"), c.req.param("name"), {
      ...q,
      filters: labelFilters(new URL(c.req.url)),
    });
    return c.json({ values });
  });

  return app;
}
