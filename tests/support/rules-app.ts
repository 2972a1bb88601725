/**
 * The alerting API over real parts: a SQLite command log in a temporary directory, the
 * Postgres-dialect event store and SQL tables on the given database, the streaming
 * evaluator, and the Hono app with ingest, rules and incidents, with a clock the test
 * moves (for change times; samples carry their own).
 */
import { type Alerting, openAlerting } from "../../adapters/alerting.ts";
import { openSqliteLog, type SqliteCommandLog } from "../../adapters/embedded-log/sqlite-log.ts";
import { createApp } from "../../adapters/http/app.ts";
import { TenantDirectory } from "../../adapters/http/tenants.ts";
import type { SqlClient } from "../../adapters/postgres/sql-client.ts";
import { Telemetry } from "../../adapters/telemetry.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";

export const ACME = { authorization: "Bearer acme-rules-key" };
export const GLOBEX = { authorization: "Bearer globex-rules-key" };

export interface RulesApp {
  readonly request: (path: string, init?: RequestInit) => Promise<Response>;
  readonly alerting: Alerting;
  readonly log: SqliteCommandLog;
  readonly clock: { now: number };
  close(): Promise<void>;
}

export const PARTITIONS = 2;

export async function openRulesApp(sql: SqlClient, options: { tickMs?: number } = {}): Promise<RulesApp> {
  const dir = await Deno.makeTempDir({ prefix: "lookout-rules-" });
  const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
  const clock = { now: Date.parse("2026-11-30T12:00:00Z") };
  const alerting = await openAlerting({
    dataDir: dir,
    sql,
    log,
    samplePartitions: PARTITIONS,
    now: () => clock.now,
    tickMs: options.tickMs ?? 3_600_000,
    onError: (error) => {
      if (Deno.env.get("LOOKOUT_TEST_DEBUG")) console.error(error);
    },
  });
  const telemetry = new Telemetry();
  const app = createApp({
    tenants: TenantDirectory.fromSpec("acme:acme-rules-key,globex:globex-rules-key"),
    telemetry,
    ready: () => true,
    logError: (error) => console.error(error),
    rules: alerting.rules,
    incidents: alerting.incidents,
    ingest: {
      sampleLog: { log, topic: "metrics.samples", partitions: PARTITIONS },
      telemetry,
      body: { maxCompressedBytes: 1 << 20, maxDecompressedBytes: 1 << 22 },
      labels: defaultLabelLimits,
      rawRetentionMs: 7 * 86_400_000,
      maxFutureMs: 600_000,
      now: Date.now,
    },
  });
  return {
    request: (path, init) => Promise.resolve(app.request(path, init)),
    alerting,
    log,
    clock,
    async close() {
      await alerting.close();
      await log.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
