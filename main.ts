/**
 * Wiring: the only place that reads the environment. Validates configuration with
 * zod, picks adapters (embedded by default) and starts the roles of this process.
 *
 * `deno task start` runs everything embedded: a durable log on node:sqlite, the
 * ClickHouse engine in-process (chDB), ingest, projections and queries on one port.
 * `LOOKOUT_KAFKA_BROKERS` puts the command log on Kafka instead, `LOOKOUT_CLICKHOUSE_URL`
 * the read models on a ClickHouse server, and `LOOKOUT_ROLES` picks what this process
 * runs, so each role scales on its own (ingest nodes hold no state; projector
 * instances share partitions through their consumer group).
 *
 * `deno task rebuild raw|rollup` rebuilds a read model through the admin API of a
 * running process and draws its progress.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { z } from "zod";
import { KAFKA_CLIENTS } from "./adapters/kafka/kafka-client.ts";
import { type LogSpec, openLogFrom } from "./adapters/open-log.ts";
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
import { RollupCompactor } from "./adapters/rollup-compactor.ts";
import { ReadModelRebuilds, type RebuildModel, type RebuildTarget } from "./adapters/read-model-rebuild.ts";
import { rebuildSummaries } from "./read-models/rebuild-summaries.ts";
import { runRebuildCli } from "./adapters/rebuild-cli.ts";
import { RangeResultCache } from "./read-models/promql/result-cache.ts";
import { openSeriesIndex } from "./adapters/series-index-refresh.ts";
import { PackedMarks } from "./read-models/packed-marks.ts";
import { RecentSamples } from "./read-models/recent-samples.ts";
import { packedThrough } from "./read-models/rollup-days.ts";
import { holdingRecentSamples, openRecentSamples } from "./adapters/recent-samples-lifecycle.ts";

const DAY_MS = 86_400_000;
const SAMPLES_TOPIC = "metrics.samples";

const positiveInt = z.coerce.number().int().positive();

const ROLES = ["ingest", "raw", "rollup", "alerting", "notifier", "query"] as const;
type Role = typeof ROLES[number];

/** `LOOKOUT_ROLES`: `all`, or a comma-separated subset of {@link ROLES}. */
const Roles = z.string().default("all").transform((text, ctx): ReadonlySet<Role> => {
  const names = text.split(",").map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 1 && names[0] === "all") return new Set(ROLES);
  const unknown = names.filter((n) => !(ROLES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `must be "all" or a list of ${ROLES.join(", ")}${
        unknown.length ? `; unknown: ${unknown}` : ""
      }`,
    });
    return z.NEVER;
  }
  return new Set(names as Role[]);
});

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
  LOOKOUT_ROLES: Roles,
  LOOKOUT_DATA_DIR: z.string().default("./data"),
  LOOKOUT_TENANTS: z.string({ error: "LOOKOUT_TENANTS is required, e.g. acme:KEY1,globex:KEY2" }).min(1),
  LOOKOUT_PARTITIONS: positiveInt.max(1024).default(8),
  LOOKOUT_LOG_SYNC: z.enum(["full", "normal"]).default("full"),
  LOOKOUT_LOG_RETENTION_HOURS: positiveInt.default(24),
  LOOKOUT_RAW_RETENTION_DAYS: positiveInt.default(7),
  LOOKOUT_ROLLUP_1M_RETENTION_DAYS: positiveInt.default(90),
  LOOKOUT_ROLLUP_1H_RETENTION_DAYS: positiveInt.default(730),
  LOOKOUT_ROLLUP_PACK_INTERVAL_SECONDS: positiveInt.default(60),
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
  LOOKOUT_QUERY_SERIES_INDEX: z.enum(["on", "off"]).default("on"),
  LOOKOUT_QUERY_SERIES_REFRESH_SECONDS: positiveInt.default(15),
  LOOKOUT_QUERY_SERIES_INDEX_DAYS: positiveInt.default(35),
  LOOKOUT_QUERY_HEAD_MINUTES: z.coerce.number().int().nonnegative().default(120),
  LOOKOUT_QUERY_HEAD_SAMPLES: z.coerce.number().int().nonnegative().default(20_000_000),
  LOOKOUT_PROJECTION_BATCH_RECORDS: positiveInt.default(1000),
  LOOKOUT_REBUILD_BATCH_RECORDS: positiveInt.default(5000),
  LOOKOUT_PROJECTION_LINGER_MS: z.coerce.number().int().nonnegative().default(100),
  LOOKOUT_PROJECTION_MAX_TRIES: positiveInt.default(3),
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
  LOOKOUT_NOTIFY_RATE_PER_MINUTE: positiveInt.default(60),
  LOOKOUT_POLL_INTERVAL_MS: positiveInt.default(60_000),
  LOOKOUT_NOTIFY_BURST: positiveInt.default(20),
  LOOKOUT_EXTERNAL_URL: z.url().optional(),
  /** Rebuildable caches (the PGlite template); empty: none. */
  LOOKOUT_CACHE_DIR: z.string().default(defaultCacheDir(Deno.env.toObject())),
  EVENTSTORE_URL: z.url({ protocol: /^(esdb|kurrentdb)(\+discover)?$/ }).optional(),
  LOOKOUT_KAFKA_BROKERS: z.string().regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, {
    error: "LOOKOUT_KAFKA_BROKERS must be host:port[,host:port…]",
  }).optional(),
  LOOKOUT_KAFKA_CLIENT_ID: z.string().min(1).default("lookout"),
  LOOKOUT_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default("kafkajs"),
  LOOKOUT_KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
  LOOKOUT_KAFKA_ACK_TIMEOUT_MS: positiveInt.default(5000),
  LOOKOUT_KAFKA_BUFFER_BYTES: positiveInt.default(64 * 1024 * 1024),
  LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES: positiveInt.optional(),
  LOOKOUT_CLICKHOUSE_URL: z.url({ protocol: /^https?$/, error: "LOOKOUT_CLICKHOUSE_URL must be http(s)://…" })
    .optional(),
  // Empty means unset, so a compose file can pass the variable through as it is.
  LOOKOUT_ADMIN_TOKEN: z.preprocess(
    (value) => value === "" ? undefined : value,
    z.string().min(16, { error: "LOOKOUT_ADMIN_TOKEN must be at least 16 characters" }).optional(),
  ),
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

function logSpec(config: Config): LogSpec {
  const idempotencyWindowMs = config.LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES &&
    config.LOOKOUT_IDEMPOTENCY_WINDOW_MINUTES * 60_000;
  if (config.LOOKOUT_KAFKA_BROKERS === undefined) {
    return {
      kind: "sqlite",
      options: {
        path: join(config.LOOKOUT_DATA_DIR, "log.sqlite"),
        sync: config.LOOKOUT_LOG_SYNC,
        retentionMs: config.LOOKOUT_LOG_RETENTION_HOURS * 3_600_000,
        idempotencyWindowMs,
      },
    };
  }
  return {
    kind: "kafka",
    client: config.LOOKOUT_KAFKA_CLIENT,
    options: {
      brokers: config.LOOKOUT_KAFKA_BROKERS.split(","),
      clientId: config.LOOKOUT_KAFKA_CLIENT_ID,
      replicationFactor: config.LOOKOUT_KAFKA_REPLICATION_FACTOR,
      retentionMs: config.LOOKOUT_LOG_RETENTION_HOURS * 3_600_000,
      idempotencyWindowMs,
      produce: {
        ackTimeoutMs: config.LOOKOUT_KAFKA_ACK_TIMEOUT_MS,
        maxPendingBytes: config.LOOKOUT_KAFKA_BUFFER_BYTES,
      },
    },
  };
}

async function main(): Promise<void> {
  if (Deno.args[0] === "rebuild") return await rebuildCommand(Deno.args[1]);
  const config = readConfig();
  const roles = config.LOOKOUT_ROLES;
  const tenants = TenantDirectory.fromSpec(config.LOOKOUT_TENANTS);
  mkdirSync(config.LOOKOUT_DATA_DIR, { recursive: true });
  const retention = {
    rawDays: config.LOOKOUT_RAW_RETENTION_DAYS,
    rollup1mDays: config.LOOKOUT_ROLLUP_1M_RETENTION_DAYS,
    rollup1hDays: config.LOOKOUT_ROLLUP_1H_RETENTION_DAYS,
  };
  const allowedLatenessMs = config.LOOKOUT_ALLOWED_LATENESS_SECONDS * 1000;

  const logAt = logSpec(config);
  const log = openLogFrom(logAt);
  await log.ensureTopic(SAMPLES_TOPIC, config.LOOKOUT_PARTITIONS);
  // An ingest-only node opens no store: it holds no state and scales by adding nodes.
  // Alerting reads it for polling rules.
  const usesStore = roles.has("raw") || roles.has("rollup") || roles.has("query") || roles.has("alerting");
  const store = usesStore
    ? openClickHouseStore(
      config.LOOKOUT_CLICKHOUSE_URL
        ? { url: config.LOOKOUT_CLICKHOUSE_URL }
        : { path: join(config.LOOKOUT_DATA_DIR, "clickhouse") },
    )
    : undefined;
  if (store) await ensureSchema(store, retention);
  const usesAlerting = roles.has("query") || roles.has("alerting") || roles.has("notifier");
  // The alert path gets a thread of its own wherever it would share one with ingest or a
  // read-model projector.
  const alertThread = roles.has("alerting") &&
    (roles.has("ingest") || roles.has("raw") || roles.has("rollup"));
  const pgliteVersion = usesAlerting && config.LOOKOUT_CACHE_DIR !== ""
    ? await installedPgliteVersion()
    : undefined;
  const alerting = usesAlerting
    ? await openAlerting({
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
      store,
      pollIntervalMs: config.LOOKOUT_POLL_INTERVAL_MS,
      notificationRate: {
        perMinute: config.LOOKOUT_NOTIFY_RATE_PER_MINUTE,
        burst: config.LOOKOUT_NOTIFY_BURST,
      },
      now: Date.now,
      run: { project: roles.has("query"), evaluate: roles.has("alerting"), deliver: roles.has("notifier") },
      thread: alertThread
        ? {
          log: logAt,
          // Without its thread the process evaluates and sends no alert: end, to be restarted.
          onFailure: (error) => {
            console.error(error.message);
            Deno.exit(1);
          },
        }
        : undefined,
    })
    : undefined;

  const telemetry = new Telemetry();
  const projectorOptions = {
    maxRecords: config.LOOKOUT_PROJECTION_BATCH_RECORDS,
    lingerMs: config.LOOKOUT_PROJECTION_LINGER_MS,
    maxTries: config.LOOKOUT_PROJECTION_MAX_TRIES,
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
  const watermark = { allowedLatenessMs };
  const seriesIndex = store && roles.has("query") && config.LOOKOUT_QUERY_SERIES_INDEX === "on"
    ? await openSeriesIndex(store, {
      fedInProcess: roles.has("raw"),
      refreshMs: config.LOOKOUT_QUERY_SERIES_REFRESH_SECONDS * 1000,
      days: config.LOOKOUT_QUERY_SERIES_INDEX_DAYS,
    })
    : undefined;
  // Only where this process's raw projection is the only writer of the samples it
  // queries: an embedded store is owned by one process.
  const recentSamples = store && roles.has("raw") && roles.has("query") &&
      config.LOOKOUT_CLICKHOUSE_URL === undefined && config.LOOKOUT_QUERY_HEAD_MINUTES > 0 &&
      config.LOOKOUT_QUERY_HEAD_SAMPLES > 0
    ? new RecentSamples({
      minutes: Math.min(config.LOOKOUT_QUERY_HEAD_MINUTES, retention.rawDays * 1440),
      maxSamples: config.LOOKOUT_QUERY_HEAD_SAMPLES,
    })
    : undefined;
  if (store && recentSamples) await openRecentSamples(store, recentSamples);
  const rawProjector = store && roles.has("raw")
    ? new Projector(
      rawProjection({
        topic: SAMPLES_TOPIC,
        seriesSeen: seriesIndex && ((tenant, series, day) => seriesIndex.index.addNow(tenant, [series], day)),
        samplesStored: recentSamples && ((samples) => recentSamples.append(samples)),
      }),
      log,
      store,
      projectorOptions,
    )
    : undefined;
  const rollupProjector = store && roles.has("rollup")
    ? new Projector(rollupProjection({ topic: SAMPLES_TOPIC, watermark }), log, store, projectorOptions)
    : undefined;
  const projectors = [rawProjector, rollupProjector].filter((p) => p !== undefined);
  // The packed-through marks this process's queries take: read from the store once a
  // second, or handed over by this process's compactor and read once a minute.
  const packedMarks = store && new PackedMarks((tenant) => packedThrough(store, tenant), {
    maxAgeMs: rollupProjector ? 60_000 : 1_000,
  });
  // Closed hours of the 1h tier packed per series and day, for long-range dashboards.
  const compactor = store && rollupProjector
    ? new RollupCompactor({
      store,
      log,
      topic: SAMPLES_TOPIC,
      consumer: rollupProjector.name,
      partitions: config.LOOKOUT_PARTITIONS,
      intervalMs: config.LOOKOUT_ROLLUP_PACK_INTERVAL_SECONDS * 1000,
      retentionDays: config.LOOKOUT_ROLLUP_1H_RETENTION_DAYS,
      onPacked: (_tenant, hours) => telemetry.count("lookout_rollup_packed_hours_total", {}, hours),
      onMarked: (tenant, through) => packedMarks?.advance(tenant, through),
      onError: (error) => {
        telemetry.count("lookout_projection_errors_total", { projection: "rollup-pack" });
        console.error(`rollup packing: ${error instanceof Error ? error.message : error}`);
      },
    })
    : undefined;
  const rebuildTargets: Partial<Record<RebuildModel, RebuildTarget>> = {};
  if (rawProjector) {
    rebuildTargets.raw = {
      ...rebuildSummaries.raw,
      group: rawProjector.name,
      live: store && recentSamples ? holdingRecentSamples(rawProjector, recentSamples, store) : rawProjector,
      projection: (tables) => rawProjection({ topic: SAMPLES_TOPIC, name: "raw-rebuild", tables }),
    };
  }
  if (rollupProjector) {
    rebuildTargets.rollup = {
      ...rebuildSummaries.rollup,
      group: rollupProjector.name,
      live: {
        pause: () => Promise.all([rollupProjector.pause(), compactor?.pause()]).then(() => {}),
        resume: () => {
          rollupProjector.resume();
          compactor?.resume();
        },
      },
      projection: (tables) =>
        rollupProjection({ topic: SAMPLES_TOPIC, name: "rollup-rebuild", watermark, tables }),
    };
  }
  // Lag of the groups this process consumes, so a process's lag reads 0 once it has caught up.
  logGauges(telemetry, log, [
    ...projectors.map((p) => p.name),
    ...(roles.has("alerting") ? ["alerts"] : []),
  ]);
  if (recentSamples) {
    telemetry.gauge(
      "lookout_query_head_samples",
      "Samples held by the head of recent samples that answers recent PromQL selections.",
      () => Promise.resolve([[{}, recentSamples.size]]),
    );
  }
  telemetry.gauge(
    "lookout_dead_lettered_records",
    "Log records moved to the dead-letter topic since start, per projection.",
    () => Promise.resolve(projectors.map((p) => [{ projection: p.name }, p.deadLettered] as const)),
  );
  let ready = false;
  void compactor?.start();
  const running = projectors.map((p) =>
    p.start().catch((error) => {
      console.error(`projector stopped: ${error instanceof Error ? error.stack : error}`);
      Deno.exit(1);
    })
  );

  const serveQueries = store !== undefined && roles.has("query");
  const app = createApp({
    tenants,
    telemetry,
    ready: () => ready,
    ingest: roles.has("ingest")
      ? {
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
      }
      : undefined,
    query: store && serveQueries
      ? {
        store,
        catalog: seriesIndex?.index,
        head: recentSamples,
        marks: packedMarks,
        limits: {
          maxSeries: config.LOOKOUT_QUERY_MAX_SERIES,
          maxPointsPerSeries: config.LOOKOUT_QUERY_MAX_POINTS,
          maxExecutionSeconds: config.LOOKOUT_QUERY_TIMEOUT_SECONDS,
        },
        context: () => ({ now: Date.now(), retention, allowedLatenessMs }),
      }
      : undefined,
    rules: roles.has("query") ? alerting?.rules : undefined,
    web: roles.has("query")
      ? {
        webDir: new URL("./web/", import.meta.url).pathname,
        vendorDir: new URL("./node_modules/uplot/dist/", import.meta.url).pathname,
      }
      : undefined,
    prometheus: store && serveQueries
      ? {
        store,
        catalog: seriesIndex?.index,
        limits: {
          maxSeries: config.LOOKOUT_QUERY_MAX_SERIES,
          maxPoints: config.LOOKOUT_QUERY_MAX_POINTS,
          maxSamples: config.LOOKOUT_QUERY_MAX_SAMPLES,
          maxConcurrentPerTenant: config.LOOKOUT_QUERY_MAX_CONCURRENT_PER_TENANT,
          maxExecutionSeconds: config.LOOKOUT_QUERY_TIMEOUT_SECONDS,
        },
        now: Date.now,
        recent: recentSamples && {
          head: recentSamples,
          answered: (path) => telemetry.count("lookout_query_selections_total", { path }),
        },
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
      }
      : undefined,
    incidents: roles.has("query") ? alerting?.incidents : undefined,
    channels: roles.has("query") ? alerting?.channels : undefined,
    silences: roles.has("query") ? alerting?.silences : undefined,
    // Wherever a projector or the query API runs: a rebuild runs beside its model's projector.
    admin: store
      ? {
        token: config.LOOKOUT_ADMIN_TOKEN,
        rebuilds: new ReadModelRebuilds({
          log,
          store,
          topic: SAMPLES_TOPIC,
          models: rebuildTargets,
          batchRecords: config.LOOKOUT_REBUILD_BATCH_RECORDS,
        }),
      }
      : undefined,
  });

  const server = Deno.serve({
    port: config.PORT,
    hostname: "0.0.0.0",
    onListen: ({ port }) =>
      console.log(
        `lookout listening on :${port} (roles: ${[...roles].join(",")}; tenants: ${
          tenants.tenants.join(", ")
        })`,
      ),
  }, app.fetch);
  ready = true;

  const shutdown = async () => {
    ready = false;
    await server.shutdown();
    await Promise.all([...projectors.map((p) => p.stop()), compactor?.stop()]);
    await Promise.allSettled(running);
    seriesIndex?.close();
    await alerting?.close();
    await log.close();
    await store?.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", shutdown);
}

/** `main.ts rebuild raw|rollup`: asks the running program at `LOOKOUT_URL` to rebuild a read model. */
async function rebuildCommand(model: string | undefined): Promise<void> {
  const parsed = z.object({
    model: z.enum(["raw", "rollup"], { error: "usage: deno task rebuild raw|rollup" }),
    url: z.url().default("http://127.0.0.1:8080"),
    token: z.string({ error: "LOOKOUT_ADMIN_TOKEN is required" }).min(1),
  }).safeParse({ model, url: Deno.env.get("LOOKOUT_URL"), token: Deno.env.get("LOOKOUT_ADMIN_TOKEN") });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(issue.message);
    Deno.exit(2);
  }
  const ok = await runRebuildCli({
    ...parsed.data,
    write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    interactive: Deno.stderr.isTerminal(),
  });
  Deno.exit(ok ? 0 : 1);
}

if (import.meta.main) await main();
