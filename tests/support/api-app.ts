/**
 * The real Hono app for API tests: ingest and query over a fresh SQLite log and the
 * shared in-process ClickHouse engine, projections running, two tenants with unique
 * names (`acme-secret-key`, `globex-secret-key`), and `total`, the sum of a `count`
 * query over the last hour.
 *
 * @example
 * const { app, pipeline } = await setup();
 * await app.request("/v1/samples", { method: "POST", headers: ACME, body });
 * await pipeline.caughtUp();
 * assert.equal(await total(app, ACME, "up"), 1);
 */
import assert from "node:assert/strict";
import { createApp } from "../../adapters/http/app.ts";
import { TenantDirectory } from "../../adapters/http/tenants.ts";
import { Telemetry } from "../../adapters/telemetry.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";
import { defaultQueryLimits } from "../../read-models/sample-query.ts";
import { defaultRetention } from "../../read-models/schema.ts";
import { uniqueName } from "./analytics.ts";
import { openPipeline, TOPIC } from "./pipeline.ts";

const DAY = 86_400_000;

export async function setup() {
  const pipeline = await openPipeline();
  const acme = uniqueName("acme");
  const globex = uniqueName("globex");
  const telemetry = new Telemetry();
  const app = createApp({
    tenants: TenantDirectory.fromSpec(`${acme}:acme-secret-key,${globex}:globex-secret-key`),
    telemetry,
    ready: () => true,
    logError: () => {},
    ingest: {
      sampleLog: { log: pipeline.log, topic: TOPIC, partitions: 4 },
      telemetry,
      body: { maxCompressedBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 },
      labels: defaultLabelLimits,
      rawRetentionMs: 7 * DAY,
      maxFutureMs: 600_000,
      now: Date.now,
    },
    query: {
      store: pipeline.store,
      limits: defaultQueryLimits,
      context: () => ({ now: Date.now(), retention: defaultRetention, allowedLatenessMs: 300_000 }),
    },
  });
  pipeline.start();
  return { app, pipeline, acme, globex, telemetry };
}

export const ACME = { "DD-API-KEY": "acme-secret-key" };
export const GLOBEX = { authorization: "Bearer globex-secret-key" };

export function query(metric: string, extra: Record<string, unknown> = {}) {
  const now = Date.now();
  return JSON.stringify({
    metric,
    agg: "count",
    by: [],
    from: now - 3_600_000,
    to: now + 60_000,
    step: 3_600_000,
    resolution: "raw",
    ...extra,
  });
}

export async function total(
  app: Awaited<ReturnType<typeof setup>>["app"],
  headers: Record<string, string>,
  metric: string,
) {
  const res = await app.request("/v1/query", { method: "POST", headers, body: query(metric) });
  assert.equal(res.status, 200);
  const body = await res.json();
  return body.series.reduce(
    (n: number, s: { points: [number, number][] }) => n + s.points.reduce((m, [, v]) => m + v, 0),
    0,
  );
}
