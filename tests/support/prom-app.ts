/**
 * The Hono app with the Prometheus API over a real pipeline (SQLite log, shared chDB
 * engine, raw and rollup projectors), two tenants, and helpers to ingest native
 * series and to call the API as a Prometheus client would.
 */
import { createApp } from "../../adapters/http/app.ts";
import type { PrometheusLimits } from "../../adapters/http/prometheus-routes.ts";
import { TenantDirectory } from "../../adapters/http/tenants.ts";
import { Telemetry } from "../../adapters/telemetry.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";
import type { RangeResultCache } from "../../read-models/promql/result-cache.ts";
import { SeriesIndex } from "../../read-models/series-index.ts";
import type { RecentSamples } from "../../read-models/recent-samples.ts";
import { uniqueName } from "./analytics.ts";
import { openPipeline, type Pipeline, TOPIC } from "./pipeline.ts";

const DAY = 86_400_000;
export const ACME_KEY = "acme-prom-key-1";
export const GLOBEX_KEY = "globex-prom-key-2";

export interface NativeSeries {
  readonly metric: string;
  readonly labels: Record<string, string>;
  readonly timestamps: number[];
  readonly values: (number | string)[];
}

export interface PromApp {
  readonly app: ReturnType<typeof createApp>;
  readonly pipeline: Pipeline;
  readonly acme: string;
  readonly globex: string;
  readonly telemetry: Telemetry;
  ingest(key: string, series: readonly NativeSeries[]): Promise<void>;
  /** GET (or POST with a form body) and the parsed JSON with the status. */
  prom(
    key: string,
    path: string,
    params: Record<string, string | string[]>,
    method?: "GET" | "POST",
  ): Promise<{
    status: number;
    body: { status: string; data?: unknown; errorType?: string; error?: string };
  }>;
  close(): Promise<void>;
}

export const defaultPromLimits: PrometheusLimits = {
  maxSeries: 10_000,
  maxPoints: 11_000,
  maxSamples: 5_000_000,
  maxExecutionSeconds: 30,
};

export async function openPromApp(
  options: {
    limits?: Partial<PrometheusLimits>;
    now?: () => number;
    cache?: RangeResultCache;
    /** Where selectors are resolved: the in-process index fed by the raw projection (as `main.ts` runs it) or the series table. */
    catalog?: "index" | "table";
    /** A head of recent samples fed by the raw projection and asked first, as `main.ts` runs it embedded. */
    recent?: RecentSamples;
  } = {},
): Promise<PromApp> {
  const index = options.catalog === "table" ? undefined : new SeriesIndex();
  const pipeline = await openPipeline({
    seriesSeen: index && ((tenant, series, day) => index.addNow(tenant, [series], day)),
    samplesStored: options.recent && ((samples) => options.recent!.append(samples)),
  });
  const acme = uniqueName("acme");
  const globex = uniqueName("globex");
  const telemetry = new Telemetry();
  const app = createApp({
    tenants: TenantDirectory.fromSpec(`${acme}:${ACME_KEY},${globex}:${GLOBEX_KEY}`),
    telemetry,
    ready: () => true,
    logError: () => {},
    ingest: {
      sampleLog: { log: pipeline.log, topic: TOPIC, partitions: 4 },
      telemetry,
      body: { maxCompressedBytes: 16 << 20, maxDecompressedBytes: 64 << 20 },
      labels: defaultLabelLimits,
      rawRetentionMs: 7 * DAY,
      maxFutureMs: 600_000,
      now: Date.now,
    },
    prometheus: {
      store: pipeline.store,
      catalog: index,
      limits: { ...defaultPromLimits, ...options.limits },
      now: options.now ?? Date.now,
      logError: (e) => console.error(e),
      recent: options.recent && {
        head: options.recent,
        answered: (path) => telemetry.count("lookout_query_selections_total", { path }),
      },
      ...(options.cache
        ? {
          cache: {
            results: options.cache,
            horizon: {
              rollupConsumer: pipeline.groups[1],
              rawCommitted: async () =>
                new Map(
                  (await pipeline.log.offsets(TOPIC, pipeline.groups[0])).map((
                    o,
                  ) => [o.partition, o.committed ?? 0]),
                ),
            },
          },
        }
        : {}),
    },
  });
  pipeline.start();
  return {
    app,
    pipeline,
    acme,
    globex,
    telemetry,
    async ingest(key, series) {
      const body = series.map((s) => JSON.stringify(s)).join("\n");
      const res = await app.request("/v1/samples", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/x-ndjson" },
        body,
      });
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      await pipeline.caughtUp();
    },
    async prom(key, path, params, method = "GET") {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) {
        for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
      }
      const headers: Record<string, string> = { authorization: `Bearer ${key}` };
      const res = method === "GET"
        ? await app.request(`${path}?${search}`, { headers })
        : await app.request(path, {
          method: "POST",
          headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
          body: search.toString(),
        });
      return { status: res.status, body: await res.json() };
    },
    close: () => pipeline.close(),
  };
}
