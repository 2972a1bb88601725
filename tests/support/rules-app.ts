/**
 * The rule API over real parts: a SQLite command log in a temporary directory, the
 * Postgres-dialect event store and rules table on the given database, and the Hono
 * app, with a clock the test moves.
 */
import { type Alerting, openAlerting } from "../../adapters/alerting.ts";
import { openSqliteLog, type SqliteCommandLog } from "../../adapters/embedded-log/sqlite-log.ts";
import { createApp } from "../../adapters/http/app.ts";
import { TenantDirectory } from "../../adapters/http/tenants.ts";
import type { SqlClient } from "../../adapters/postgres/sql-client.ts";
import { Telemetry } from "../../adapters/telemetry.ts";

export const ACME = { authorization: "Bearer acme-rules-key" };
export const GLOBEX = { authorization: "Bearer globex-rules-key" };

export interface RulesApp {
  readonly request: (path: string, init?: RequestInit) => Promise<Response>;
  readonly alerting: Alerting;
  readonly log: SqliteCommandLog;
  readonly clock: { now: number };
  close(): Promise<void>;
}

export async function openRulesApp(sql: SqlClient): Promise<RulesApp> {
  const dir = await Deno.makeTempDir({ prefix: "lookout-rules-" });
  const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
  const clock = { now: Date.parse("2026-11-30T12:00:00Z") };
  const alerting = await openAlerting({ dataDir: dir, sql, log, now: () => clock.now, onError: () => {} });
  const app = createApp({
    tenants: TenantDirectory.fromSpec("acme:acme-rules-key,globex:globex-rules-key"),
    telemetry: new Telemetry(),
    ready: () => true,
    logError: (error) => console.error(error),
    rules: alerting.rules,
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
