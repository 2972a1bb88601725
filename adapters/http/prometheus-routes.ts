/**
 * The Prometheus HTTP API, so Grafana and every Prometheus client can query Lookout:
 * `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`, `/api/v1/labels`,
 * `/api/v1/label/<name>/values` and `/api/v1/status/buildinfo`, by GET or by POST
 * with a form body. Answers use Prometheus' envelope
 * (`{"status":"success","data":…}` or `{"status":"error","errorType","error"}`):
 * `bad_data` 400 for invalid input, `execution` 422 for limits and unsupported
 * PromQL, `unavailable` 503, `internal` 500.
 *
 * The tenant comes from the API key (app.ts); each request's samples are read
 * through a source bound to that tenant.
 */
import { type Context, Hono } from "hono";
import { DomainError, ValidationError } from "../../domain/errors.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import { parsePromql } from "../../read-models/promql/parse.ts";
import { DEFAULT_LOOKBACK_MS } from "../../read-models/promql/evaluate.ts";
import { instantQuery, rangeQuery } from "../../read-models/promql/run-query.ts";
import { clickHouseSource } from "../../read-models/promql/selector-sql.ts";
import {
  type DiscoveryRange,
  promLabelNames,
  promLabelValues,
  promSeries,
} from "../../read-models/promql/discovery.ts";
import { parseDuration } from "../../read-models/promql/literals.ts";
import { TenantGate } from "../../read-models/promql/tenant-gate.ts";
import { ParsedQueries } from "../../read-models/promql/parsed-queries.ts";
import { cachedRangeQuery } from "../../read-models/promql/cached-range.ts";
import { closedHorizon, type HorizonSources, lateMark } from "../../read-models/promql/closed-horizon.ts";
import type { RangeResultCache } from "../../read-models/promql/result-cache.ts";
import { type AnsweredBy, recentSource } from "../../read-models/promql/recent-source.ts";
import type { RecentSamples } from "../../read-models/recent-samples.ts";
import type { TenantEnv } from "./app.ts";
import { parseTime, PromParams } from "./prom-params.ts";

export interface PrometheusLimits {
  readonly maxSeries: number;
  readonly maxPoints: number;
  readonly maxSamples: number;
  readonly maxExecutionSeconds: number;
  /** Queries one tenant may run at once; more are refused so others are not starved. */
  readonly maxConcurrentPerTenant?: number;
}

export interface PrometheusOptions {
  readonly store: AnalyticsStore;
  /** Resolves selectors in the process; the `series` table answers what it hands back. */
  readonly catalog?: SeriesCatalog;
  readonly limits: PrometheusLimits;
  readonly now: () => number;
  readonly version?: string;
  /** Caches closed steps of range queries per tenant; without it every range is evaluated. */
  readonly cache?: { readonly results: RangeResultCache; readonly horizon: Omit<HorizonSources, "store"> };
  readonly logError?: (error: unknown) => void;
  /**
   * The head of recent samples, where this process's raw projection feeds one: a
   * selection whose range it covers is answered from it. `answered` is told which
   * path answered each selection.
   */
  readonly recent?: { readonly head: RecentSamples; readonly answered?: (path: AnsweredBy) => void };
}

const STATUS: Record<string, { status: 400 | 422 | 503; type: string }> = {
  validation: { status: 400, type: "bad_data" },
  limit_exceeded: { status: 422, type: "execution" },
  unsupported: { status: 422, type: "execution" },
  unavailable: { status: 503, type: "unavailable" },
};

function failure(c: Context, error: unknown, log: (e: unknown) => void): Response {
  const mapped = error instanceof DomainError ? STATUS[error.code] : undefined;
  if (mapped) {
    return c.json(
      { status: "error", errorType: mapped.type, error: (error as Error).message },
      mapped.status,
    );
  }
  const timeout = timeoutMessage(error);
  if (timeout) return c.json({ status: "error", errorType: "execution", error: timeout }, 422);
  log(error);
  return c.json({ status: "error", errorType: "internal", error: "internal error" }, 500);
}

/** ClickHouse's TIMEOUT_EXCEEDED (code 159) becomes a 422 naming the limit. */
function timeoutMessage(error: unknown): string | undefined {
  const text = error instanceof Error ? error.message : String(error);
  return /TIMEOUT_EXCEEDED|Timeout exceeded/i.test(text)
    ? "Cannot run the query: it ran over the execution time limit"
    : undefined;
}

export function prometheusRoutes(options: PrometheusOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  const log = options.logError ?? ((e) => console.error(e));
  const gate = new TenantGate({ maxConcurrent: options.limits.maxConcurrentPerTenant ?? 4 });
  const parsed = new ParsedQueries();
  const source = (c: Context<TenantEnv>) => {
    const tenant = c.get("tenant");
    const store = clickHouseSource(options.store, tenant, options.limits, options.catalog);
    const recent = options.recent;
    if (recent === undefined) return store;
    return recentSource(recent.head, store, {
      store: options.store,
      tenant,
      limits: options.limits,
      catalog: options.catalog,
      answered: recent.answered,
    });
  };
  const handle = (
    run: (c: Context<TenantEnv>, p: PromParams) => Promise<unknown>,
  ) =>
  async (c: Context<TenantEnv>) => {
    try {
      const params = await PromParams.from(c.req.raw);
      const data = await gate.run(c.get("tenant"), () => run(c, params));
      return c.json({ status: "success", data });
    } catch (error) {
      return failure(c, error, log);
    }
  };

  const query = handle((c, p) => {
    const time = p.has("time") ? parseTime(p.one("time")!, "time") : options.now();
    return instantQuery(source(c), p.required("query"), time, options.limits, lookback(p), parsed.parse);
  });
  const queryRange = handle((c, p) => {
    const start = parseTime(p.required("start"), "start");
    const end = parseTime(p.required("end"), "end");
    const range = { start, end, step: step(p.required("step")) };
    const text = p.required("query");
    const cache = options.cache;
    if (!cache) return rangeQuery(source(c), text, range, options.limits, lookback(p), parsed.parse);
    const tenant = c.get("tenant");
    return cachedRangeQuery(source(c), text, range, options.limits, lookback(p) ?? DEFAULT_LOOKBACK_MS, {
      cache: cache.results,
      tenant,
      horizon: () => closedHorizon({ store: options.store, ...cache.horizon }, tenant),
      lateMark: () => lateMark(options.store, tenant),
      parse: parsed.parse,
    });
  });
  const series = handle((c, p) => {
    const matches = p.all("match[]");
    if (matches.length === 0) throw new ValidationError("no match[] parameter provided");
    return promSeries(
      options.store,
      c.get("tenant"),
      matches.map(parsePromql),
      range(p, options),
      options.limits.maxSeries,
      options.catalog,
    );
  });
  const labels = handle((c, p) =>
    promLabelNames(
      options.store,
      c.get("tenant"),
      p.all("match[]").map(parsePromql),
      range(p, options),
      options.catalog,
    )
  );
  const values = handle((c, p) =>
    promLabelValues(
      options.store,
      c.get("tenant"),
      c.req.param("name")!,
      p.all("match[]").map(parsePromql),
      range(p, options),
      options.catalog,
    )
  );
  for (
    const [path, handler] of [
      ["/api/v1/query", query],
      ["/api/v1/query_range", queryRange],
      ["/api/v1/labels", labels],
      ["/api/v1/label/:name/values", values],
    ] as const
  ) {
    app.get(path, handler);
    app.post(path, handler);
  }
  app.get("/api/v1/series", series);
  // Any other body on this path is Datadog's v1 series intake (ingest-routes.ts).
  app.post("/api/v1/series", async (c, next) => {
    if (!(c.req.header("content-type") ?? "").includes("application/x-www-form-urlencoded")) {
      return await next();
    }
    return await series(c);
  });
  app.get("/api/v1/status/buildinfo", (c) =>
    c.json({
      status: "success",
      data: {
        version: options.version ?? "0.1.0",
        revision: "",
        branch: "",
        buildUser: "",
        buildDate: "",
        goVersion: "",
      },
    }));
  return app;
}

function lookback(p: PromParams): number | undefined {
  const text = p.one("lookback_delta");
  return text === undefined ? undefined : step(text);
}

function step(text: string): number {
  const ms = parseDuration(text);
  if (!(ms > 0)) {
    throw new ValidationError(`invalid parameter "step": cannot parse "${text}" to a positive duration`);
  }
  return ms;
}

function range(p: PromParams, options: PrometheusOptions): DiscoveryRange {
  const end = p.has("end") ? parseTime(p.one("end")!, "end") : options.now();
  const start = p.has("start") ? parseTime(p.one("start")!, "start") : end - 86_400_000;
  if (end < start) {
    throw new ValidationError('invalid parameter "end": end timestamp must not be before start time');
  }
  return { start, end };
}
