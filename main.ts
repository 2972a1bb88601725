/**
 * Wiring: the only place that reads the environment. Validates configuration with
 * zod, picks adapters (embedded by default) and starts the roles of this process.
 *
 * `deno task start` runs everything embedded: a durable log on node:sqlite, the
 * ClickHouse engine in-process (chDB), ingest, projections and queries on one port.
 * `LOOKOUT_KAFKA_BROKERS` puts the command log on Kafka instead.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { z } from "zod";
import { openSqliteLog } from "./adapters/embedded-log/sqlite-log.ts";
import { openKafkaLog } from "./adapters/kafka/kafka-log.ts";
import { openClickHouseStore } from "./adapters/clickhouse/clickhouse-store.ts";
import { createApp } from "./adapters/http/app.ts";
import { defaultTenantLimits, IngestLimits } from "./adapters/http/ingest-limits.ts";
import { TenantDirectory } from "./adapters/http/tenants.ts";
import { Projector } from "./adapters/projector.ts";
import { Telemetry } from "./adapters/telemetry.ts";
import { openAlerting } from "./adapters/alerting.ts";
import { defaultCacheDir, installedPgliteVersion } from "./adapters/postgres/pglite-template.ts";
import { defaultLabelLimits } from "./domain/label-rules.ts";
import type { CommandLog } from "./domain/ports/command-log.ts";
import { rawProjection } from "./projections/raw.ts";
import { rollupProjection } from "./projections/rollup.ts";
import { ensureSchema } from "./read-models/schema.ts";
import { RangeResultCache } from "./read-models/promql/result-cache.ts";

const DAY_MS = 86_400_000;
const SAMPLES_TOPIC = "metrics.samples";

const positiveInt = z.coerce.number().int().positive();

/** `LOOKOUT_TENANT_LIMITS`: per-tenant overrides of the ingest limits. */
const TenantLimitOverrides = z.record(
  z.string(),
  z.object({
    ingestRate: z.number().int().nonnegative(),
    ingestBurst: z.number().int().positive(),
    maxActiveSeries: z.number().int().positive(),
    maxActiveSeriesPerMetric: z.number().int().positive(),
  }).partial().strict(),
);

export const Config = z.object({
  PORT: positiveInt.default(8080),
  LOOKOUT_DATA_DIR: z.string().default("./data"),
  LOOKOUT_TENANTS: z.string({ error: "LOOKOUT_TENANTS is required, e.g. acme:KEY1,globex:KEY2" }).min(1),
  LOOKOUT_PARTITIONS: positiveInt.max(1024).default(8),
  LOOKOUT_LOG_SYNC: z.enum(["full", "normal"]).default("full"),
  LOOKOUT_LOG_RETENTION_HOURS: positiveInt.default(24),
  LOOKOUT_RAW_RETENTION_DAYS: positiveInt.default(7),
  LOOKOUT_ROLLUP_1M_RETENTION_DAYS: positiveInt.default(90),
  LOOKOUT_ROLLUP_1H_RETENTION_DAYS: positiveInt.default(730),
  LOOKOUT_ALLOWED_LATENESS_SECONDS: z.coerce.number().int().nonnegative().default(300),
  LOOKOUT_MAX_FUTURE_SECONDS: z.coerce.number().int().nonnegative().default(600),
  LOOKOUT_MAX_BODY_BYTES: positiveInt.default(10 * 1024 * 1024),
  LOOKOUT_MAX_DECOMPRESSED_BYTES: positiveInt.default(64 * 1024 * 1024),
  LOOKOUT_MAX_LABELS: positiveInt.default(defaultLabelLimits.maxLabels),
  LOOKOUT_MAX_LABEL_NAME_LENGTH: positiveInt.default(defaultLabelLimits.maxNameLength),
  LOOKOUT_MAX_LABEL_VALUE_LENGTH: positiveInt.default(defaultLabelLimits.maxValueLength),
  LOOKOUT_QUERY_MAX_SERIES: positiveInt.default(10_000),
  LOOKOUT_QUERY_MAX_POINTS: positiveInt.default(11_000),
  LOOKOUT_QUERY_TIMEOUT_SECONDS: positiveInt.default(30),
  LOOKOUT_QUERY_MAX_SAMPLES: positiveInt.default(50_000_000),
  LOOKOUT_QUERY_MAX_CONCURRENT_PER_TENANT: positiveInt.default(4),
  LOOKOUT_QUERY_CACHE_ENTRIES: z.coerce.number().int().nonnegative().default(1000),
  LOOKOUT_PROJECTION_BATCH_RECORDS: positiveInt.default(1000),
  LOOKOUT_PROJECTION_LINGER_MS: z.coerce.number().int().nonnegative().default(100),
  LOOKOUT_INGEST_SERIES_CACHE: positiveInt.default(262_144),
  LOOKOUT_INGEST_RATE: z.coerce.number().int().nonnegative().default(defaultTenantLimits.ingestRate),
  LOOKOUT_INGEST_BURST: positiveInt.default(defaultTenantLimits.ingestBurst),
  LOOKOUT_MAX_ACTIVE_SERIES: positiveInt.default(defaultTenantLimits.maxActiveSeries),
  LOOKOUT_MAX_ACTIVE_SERIES_PER_METRIC: positiveInt.default(defaultTenantLimits.maxActiveSeriesPerMetric),
  LOOKOUT_ACTIVE_SERIES_WINDOW_SECONDS: positiveInt.default(defaultTenantLimits.activeSeriesWindowMs / 1000),
  LOOKOUT_TENANT_LIMITS: z.string().default("{}").transform((text, ctx) => {
    const parsed = TenantLimitOverrides.safeParse((() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })());
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: "custom", message: `must be JSON like {"acme":{"ingestRate":1000}}` });
    return z.NEVER;
  }),
  LOOKOUT_POSTGRES_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  LOOKOUT_WEBHOOK_ALLOW_NETS: z.string().default(""),
  LOOKOUT_ALERT_TICK_MS: positiveInt.default(1000),
  LOOKOUT_EXTERNAL_URL: z.url().optional(),
  /** Rebuildable caches (the PGlite template); empty: none. */
  LOOKOUT_CACHE_DIR: z.string().default(defaultCacheDir(Deno.env.toObject())),
  EVENTSTORE_URL: z.url({ protocol: /^(esdb|kurrentdb)(\+discover)?$/ }).optional(),
  LOOKOUT_KAFKA_BROKERS: z.string().regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, {
    error: "LOOKOUT_KAFKA_BROKERS must be host:port[,host:port…]",
  }).optional(),
  LOOKOUT_KAFKA_CLIENT_ID: z.string().min(1).default("lookout"),
  LOOKOUT_KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
  LOOKOUT_KAFKA_ACK_TIMEOUT_MS: positiveInt.default(5000),
  LOOKOUT_KAFKA_BUFFER_BYTES: positiveInt.default(64 * 1024 * 1024),
  LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES: positiveInt.optional(),
});
export type Config = z.infer<typeof Config>;

function readConfig(): Config {
  const result = Config.safeParse(Deno.env.toObject());
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    console.error(`Invalid configuration: ${issue.path.join(".")}: ${issue.message}`);
  }
  Deno.exit(2);
}

function logGauges(telemetry: Telemetry, log: CommandLog, groups: readonly string[]): void {
  telemetry.gauge(
    "lookout_log_end_offset",
    "Next offset of each log partition.",
    async () =>
      (await log.offsets(SAMPLES_TOPIC)).map((
        o,
      ) => [{ topic: SAMPLES_TOPIC, partition: String(o.partition) }, o.end]),
  );
  telemetry.gauge(
    "lookout_log_retained_records",
    "Records retained in each log partition.",
    async () =>
      (await log.offsets(SAMPLES_TOPIC)).map((o) => [
        { topic: SAMPLES_TOPIC, partition: String(o.partition) },
        o.end - o.earliest,
      ]),
  );
  telemetry.gauge(
    "lookout_projection_lag_records",
    "Records appended but not yet projected, per group and partition.",
    async () => {
      const rows: [Record<string, string>, number][] = [];
      for (const group of groups) {
        for (const o of await log.offsets(SAMPLES_TOPIC, group)) {
          rows.push([{ group, partition: String(o.partition) }, o.end - (o.committed ?? o.earliest)]);
        }
      }
      return rows;
    },
  );
}

function openLog(config: Config): CommandLog {
  const idempotencyWindowMs = config.LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES &&
    config.LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES * 60_000;
  if (config.LOOKOUT_KAFKA_BROKERS === undefined) {
    return openSqliteLog({
      path: join(config.LOOKOUT_DATA_DIR, "log.sqlite"),
      sync: config.LOOKOUT_LOG_SYNC,
      retentionMs: config.LOOKOUT_LOG_RETENTION_HOURS * 3_600_000,
      idempotencyWindowMs,
    });
  }
  return openKafkaLog({
    brokers: config.LOOKOUT_KAFKA_BROKERS.split(","),
    clientId: config.LOOKOUT_KAFKA_CLIENT_ID,
    replicationFactor: config.LOOKOUT_KAFKA_REPLICATION_FACTOR,
    retentionMs: config.LOOKOUT_LOG_RETENTION_HOURS * 3_600_000,
    idempotencyWindowMs,
    produce: {
      ackTimeoutMs: config.LOOKOUT_KAFKA_ACK_TIMEOUT_MS,
      maxPendingBytes: config.LOOKOUT_KAFKA_BUFFER_BYTES,
    },
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const tenants = TenantDirectory.fromSpec(config.LOOKOUT_TENANTS);
  mkdirSync(config.LOOKOUT_DATA_DIR, { recursive: true });
  const retention = {
    rawDays: config.LOOKOUT_RAW_RETENTION_DAYS,
    rollup1mDays: config.LOOKOUT_ROLLUP_1M_RETENTION_DAYS,
    rollup1hDays: config.LOOKOUT_ROLLUP_1H_RETENTION_DAYS,
  };
  const allowedLatenessMs = config.LOOKOUT_ALLOWED_LATENESS_SECONDS * 1000;

  const log = openLog(config);
  await log.ensureTopic(SAMPLES_TOPIC, config.LOOKOUT_PARTITIONS);
  const store = openClickHouseStore({ path: join(config.LOOKOUT_DATA_DIR, "clickhouse") });
  await ensureSchema(store, retention);
  const pgliteVersion = config.LOOKOUT_CACHE_DIR === "" ? undefined : await installedPgliteVersion();
  const alerting = await openAlerting({
    dataDir: config.LOOKOUT_DATA_DIR,
    pgliteTemplate: pgliteVersion === undefined
      ? undefined
      : { cacheDir: config.LOOKOUT_CACHE_DIR, version: pgliteVersion },
    postgresUrl: config.LOOKOUT_POSTGRES_URL,
    eventStoreUrl: config.EVENTSTORE_URL,
    log,
    samplePartitions: config.LOOKOUT_PARTITIONS,
    tickMs: config.LOOKOUT_ALERT_TICK_MS,
    webhookAllowNets: config.LOOKOUT_WEBHOOK_ALLOW_NETS.split(",").map((n) => n.trim()).filter((n) =>
      n !== ""
    ),
    externalUrl: config.LOOKOUT_EXTERNAL_URL ?? `http://localhost:${config.PORT}`,
    now: Date.now,
  });

  const telemetry = new Telemetry();
  const projectorOptions = {
    maxRecords: config.LOOKOUT_PROJECTION_BATCH_RECORDS,
    lingerMs: config.LOOKOUT_PROJECTION_LINGER_MS,
    onBatch: (
      projection: string,
      counters: { samples: number; lateByTenant: ReadonlyMap<string, number> },
    ) => {
      telemetry.count("lookout_projected_samples_total", { projection }, counters.samples);
      for (const [tenant, late] of counters.lateByTenant) {
        telemetry.count("lookout_late_samples_total", { tenant }, late);
      }
    },
    onError: (projection: string, error: unknown) => {
      telemetry.count("lookout_projection_errors_total", { projection });
      console.error(`projection ${projection}: ${error instanceof Error ? error.message : error}`);
    },
  };
  const projectors = [
    new Projector(rawProjection({ topic: SAMPLES_TOPIC }), log, store, projectorOptions),
    new Projector(
      rollupProjection({ topic: SAMPLES_TOPIC, watermark: { allowedLatenessMs } }),
      log,
      store,
      projectorOptions,
    ),
  ];
  logGauges(telemetry, log, ["raw", "rollup", "alerts"]);
  telemetry.gauge(
    "lookout_dead_lettered_records",
    "Log records moved to the dead-letter topic since start, per projection.",
    () => Promise.resolve(projectors.map((p) => [{ projection: p.name }, p.deadLettered] as const)),
  );
  let ready = false;
  const running = projectors.map((p) =>
    p.start().catch((error) => {
      console.error(`projector stopped: ${error instanceof Error ? error.stack : error}`);
      Deno.exit(1);
    })
  );

  const app = createApp({
    tenants,
    telemetry,
    ready: () => ready,
    ingest: {
      sampleLog: { log, topic: SAMPLES_TOPIC, partitions: config.LOOKOUT_PARTITIONS },
      telemetry,
      body: {
        maxCompressedBytes: config.LOOKOUT_MAX_BODY_BYTES,
        maxDecompressedBytes: config.LOOKOUT_MAX_DECOMPRESSED_BYTES,
      },
      labels: {
        maxLabels: config.LOOKOUT_MAX_LABELS,
        maxNameLength: config.LOOKOUT_MAX_LABEL_NAME_LENGTH,
        maxValueLength: config.LOOKOUT_MAX_LABEL_VALUE_LENGTH,
      },
      rawRetentionMs: retention.rawDays * DAY_MS,
      maxFutureMs: config.LOOKOUT_MAX_FUTURE_SECONDS * 1000,
      now: Date.now,
      seriesCacheEntries: config.LOOKOUT_INGEST_SERIES_CACHE,
      limits: new IngestLimits({
        defaults: {
          ingestRate: config.LOOKOUT_INGEST_RATE,
          ingestBurst: config.LOOKOUT_INGEST_BURST,
          maxActiveSeries: config.LOOKOUT_MAX_ACTIVE_SERIES,
          maxActiveSeriesPerMetric: config.LOOKOUT_MAX_ACTIVE_SERIES_PER_METRIC,
          activeSeriesWindowMs: config.LOOKOUT_ACTIVE_SERIES_WINDOW_SECONDS * 1000,
        },
        overrides: config.LOOKOUT_TENANT_LIMITS,
      }),
    },
    query: {
      store,
      limits: {
        maxSeries: config.LOOKOUT_QUERY_MAX_SERIES,
        maxPointsPerSeries: config.LOOKOUT_QUERY_MAX_POINTS,
        maxExecutionSeconds: config.LOOKOUT_QUERY_TIMEOUT_SECONDS,
      },
      context: () => ({ now: Date.now(), retention, allowedLatenessMs }),
    },
    rules: alerting.rules,
    web: {
      webDir: new URL("./web/", import.meta.url).pathname,
      vendorDir: new URL("./node_modules/uplot/dist/", import.meta.url).pathname,
    },
    prometheus: {
      store,
      limits: {
        maxSeries: config.LOOKOUT_QUERY_MAX_SERIES,
        maxPoints: config.LOOKOUT_QUERY_MAX_POINTS,
        maxSamples: config.LOOKOUT_QUERY_MAX_SAMPLES,
        maxConcurrentPerTenant: config.LOOKOUT_QUERY_MAX_CONCURRENT_PER_TENANT,
        maxExecutionSeconds: config.LOOKOUT_QUERY_TIMEOUT_SECONDS,
      },
      now: Date.now,
      ...(config.LOOKOUT_QUERY_CACHE_ENTRIES > 0
        ? {
          cache: {
            results: new RangeResultCache({ maxEntries: config.LOOKOUT_QUERY_CACHE_ENTRIES }),
            horizon: {
              rollupConsumer: "rollup",
              rawCommitted: async () =>
                new Map(
                  (await log.offsets(SAMPLES_TOPIC, "raw")).map((o) => [o.partition, o.committed ?? 0]),
                ),
            },
          },
        }
        : {}),
    },
    incidents: alerting.incidents,
    channels: alerting.channels,
  });

  const server = Deno.serve({
    port: config.PORT,
    hostname: "0.0.0.0",
    onListen: ({ port }) =>
      console.log(`lookout listening on :${port} (tenants: ${tenants.tenants.join(", ")})`),
  }, app.fetch);
  ready = true;

  const shutdown = async () => {
    ready = false;
    await server.shutdown();
    await Promise.all(projectors.map((p) => p.stop()));
    await Promise.allSettled(running);
    await alerting.close();
    await log.close();
    await store.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", shutdown);
}

if (import.meta.main) await main();
