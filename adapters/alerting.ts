/**
 * Opens the alerting side of a process: the SQL database (PGlite under the data
 * directory, or a Postgres server), the event store (Postgres-dialect on that database,
 * or EventStoreDB), the rules-table projector, and the rule commands on the log topic
 * `metrics.commands`. `main.ts` passes in what it read from the environment.
 *
 * @example
 * const alerting = await openAlerting({ dataDir, log, now: Date.now });
 * createApp({ ..., rules: alerting.rules });
 * await alerting.close();
 */
import { join } from "node:path";
import type { CommandLog } from "../domain/ports/command-log.ts";
import type { EventStore } from "../domain/ports/event-store.ts";
import { RuleCommands } from "../commands/rules/rule-commands.ts";
import { RULES_DDL } from "../read-models/rules-table.ts";
import type { RuleOptions } from "./http/rule-routes.ts";
import { openPostgresEventStore } from "./postgres/postgres-event-store.ts";
import { openPglite, openPostgres, type SqlClient } from "./postgres/sql-client.ts";
import { RulesProjector } from "./rules-projector.ts";

export const COMMANDS_TOPIC = "metrics.commands";

export interface AlertingOptions {
  /** PGlite keeps its data under `<dataDir>/pglite` unless `postgresUrl` is given. */
  readonly dataDir: string;
  readonly postgresUrl?: string;
  /** An open database to use instead of opening one (it is closed with the rest). */
  readonly sql?: SqlClient;
  /** EventStoreDB instead of the Postgres-dialect event store. */
  readonly eventStoreUrl?: string;
  readonly log: CommandLog;
  readonly now: () => number;
  readonly onError?: (error: unknown) => void;
}

export interface Alerting {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly projector: RulesProjector;
  readonly rules: RuleOptions;
  close(): Promise<void>;
}

export async function openAlerting(options: AlertingOptions): Promise<Alerting> {
  const sql = options.sql ??
    (options.postgresUrl
      ? await openPostgres({ url: options.postgresUrl })
      : await openPglite({ dataDir: join(options.dataDir, "pglite") }));
  const store = options.eventStoreUrl
    ? (await import("./eventstoredb/eventstoredb-event-store.ts")).openEventStoreDb({
      url: options.eventStoreUrl,
    })
    : await openPostgresEventStore(sql);
  await sql.exec(RULES_DDL);
  await options.log.ensureTopic(COMMANDS_TOPIC, 1);
  const projector = new RulesProjector(store, sql.drizzle, {
    onError: (error, event) =>
      (options.onError ?? console.error)(`rules projection at ${event.position}: ${error}`),
  });
  const running = projector.start().catch((error) => (options.onError ?? console.error)(error));
  const commands = new RuleCommands({ log: options.log, topic: COMMANDS_TOPIC, store });
  return {
    sql,
    store,
    projector,
    rules: {
      commands,
      store,
      db: sql.drizzle,
      projected: (position) => projector.projected(position),
      now: options.now,
      newId: () => crypto.randomUUID(),
    },
    async close() {
      await projector.stop();
      await running;
      await store.close();
      await sql.close();
    },
  };
}
