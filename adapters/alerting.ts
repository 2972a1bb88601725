/**
 * Opens the alerting side of a process: the SQL database (PGlite under the data
 * directory, or a Postgres server), the event store (Postgres-dialect on that database,
 * or EventStoreDB), the rules-table projector, the rule commands on the log topic
 * `metrics.commands`, the streaming evaluator, and, given the analytics store, the
 * polling evaluator over its rollups. `main.ts` passes in what it read from the environment.
 *
 * With `thread`, the alert path (streaming evaluator, read-model projector with the
 * outbox, delivery) runs in a Worker of its own (`alerting-thread.ts`) with its own
 * connections to the log and the databases, so ingest and the read-model projectors on
 * this thread do not hold it up; this thread keeps the API side and the polling evaluator.
 *
 * @example
 * const alerting = await openAlerting({ dataDir, log, now: Date.now });
 * createApp({ ..., rules: alerting.rules });
 * await alerting.close();
 */
import { join } from "node:path";
import type { CommandLog } from "../domain/ports/command-log.ts";
import type { EventStore } from "../domain/ports/event-store.ts";
import { createHash } from "node:crypto";
import { RuleCommands } from "../commands/rules/rule-commands.ts";
import { IncidentCommands, incidentIdFor } from "../commands/incidents/incident-commands.ts";
import { compileRule } from "../domain/alerting/rule.ts";
import { incidentCommandFor } from "../domain/alerting/incident-mapping.ts";
import type { IncidentLevel } from "../domain/alerting/incident.ts";
import type { GroupTransition } from "../domain/alerting/streaming-evaluation.ts";
import type { IncidentOptions } from "./http/incident-routes.ts";
import { StreamingEvaluator } from "./streaming-evaluator.ts";
import { listRulesByMode, RULES_DDL } from "../read-models/rules-table.ts";
import { INCIDENTS_DDL, openIncidents } from "../read-models/incidents-table.ts";
import { CHANNELS_DDL } from "../read-models/channels-table.ts";
import { DELIVERIES_DDL } from "../read-models/deliveries-table.ts";
import { NOTIFY_GROUPS_DDL } from "../read-models/notify-groups-table.ts";
import { SILENCES_DDL } from "../read-models/silences-table.ts";
import { SilenceCommands } from "../commands/silences/silence-commands.ts";
import type { SilenceOptions } from "./http/silence-routes.ts";
import { Dispatcher, type NotificationRate } from "./notifier/dispatcher.ts";
import type { ChannelOptions } from "./http/channel-routes.ts";
import { AddressGuard } from "./notifier/address-guard.ts";
import { DeliveryWorker } from "./notifier/delivery-worker.ts";
import { queueNotifications } from "./notifier/outbox.ts";
import { WebhookSender } from "./notifier/webhook-sender.ts";
import type { RuleOptions } from "./http/rule-routes.ts";
import { openPostgresEventStore } from "./postgres/postgres-event-store.ts";
import { openPglite, openPostgres, type SqlClient } from "./postgres/sql-client.ts";
import type { PgliteTemplate } from "./postgres/pglite-template.ts";
import { ReadModelProjector } from "./read-model-projector.ts";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { PollingEvaluator } from "./polling-evaluator.ts";
import type { Position } from "../domain/ports/event-store.ts";
import type { LogSpec } from "./open-log.ts";
import { AlertingThread } from "./alerting-thread.ts";

export const COMMANDS_TOPIC = "metrics.commands";
export const SAMPLES_TOPIC = "metrics.samples";

export interface AlertingOptions {
  /** PGlite keeps its data under `<dataDir>/pglite` unless `postgresUrl` is given. */
  readonly dataDir: string;
  readonly postgresUrl?: string;
  /** An open database to use instead of opening one (it is closed with the rest). */
  readonly sql?: SqlClient;
  /** EventStoreDB instead of the Postgres-dialect event store. */
  readonly eventStoreUrl?: string;
  readonly log: CommandLog;
  /** Partitions of metrics.samples, should this open it first. */
  readonly samplePartitions?: number;
  /** Where a new embedded SQL database is copied from instead of running initdb. */
  readonly pgliteTemplate?: PgliteTemplate;
  readonly now: () => number;
  readonly onError?: (error: unknown) => void;
  /** How often the streaming evaluator steps idle groups (recovery, no-data). */
  readonly tickMs?: number;
  /** Networks webhooks may reach although private or loopback (CIDRs). */
  readonly webhookAllowNets?: readonly string[];
  /** This server's address as notification receivers should link to it. */
  readonly externalUrl?: string;
  /** Backoff base of notification retries. */
  readonly deliveryBaseDelayMs?: number;
  /**
   * What this process runs (all by default): the rules and incidents tables kept from
   * the event store (`project`, the API's read side), the streaming and polling evaluators
   * (`evaluate`) and the notification delivery worker (`deliver`).
   */
  readonly run?: {
    readonly project?: boolean;
    readonly evaluate?: boolean;
    readonly deliver?: boolean;
    /** The polling evaluator (as `evaluate` unless given). */
    readonly poll?: boolean;
  };
  /**
   * Runs the streaming evaluator and, as `run` says, the projector and delivery in a
   * Worker that opens the log as `log` describes (`log` stays this thread's).
   */
  readonly thread?: {
    readonly log: LogSpec;
    /** The Worker ended after it started; by default this is reported to `onError`. */
    readonly onFailure?: (error: Error) => void;
  };
  /**
   * The channel the event stores of this process's threads on one database wake each
   * other's subscriptions on.
   */
  readonly peers?: string;
  /** Told each position the read-model projector has reached. */
  readonly onProjected?: (position: Position) => void;
  /** The analytics store whose rollups polling rules read; without it polling rules are not evaluated. */
  readonly store?: AnalyticsStore;
  /** How often polling rules are evaluated. */
  readonly pollIntervalMs?: number;
  /** Notifications a tenant may be sent; past it, due groups are folded into digests. */
  readonly notificationRate?: NotificationRate;
}

/** `projector`, `evaluator` and `deliveries` are this thread's; they run only where `run` and `thread` leave them here. */
export interface Alerting {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly projector: ReadModelProjector;
  readonly rules: RuleOptions;
  readonly incidents: IncidentOptions;
  readonly evaluator: StreamingEvaluator;
  readonly channels: ChannelOptions;
  readonly silences: SilenceOptions;
  readonly deliveries: DeliveryWorker;
  close(): Promise<void>;
}

export async function openAlerting(options: AlertingOptions): Promise<Alerting> {
  const sql = options.sql ??
    (options.postgresUrl ? await openPostgres({ url: options.postgresUrl }) : await openPglite({
      dataDir: join(options.dataDir, "pglite"),
      template: options.pgliteTemplate,
      // Off the event loop: an incident storm's statements would otherwise hold up ingest.
      worker: true,
    }));
  const ownPglite = sql.dialect === "pglite" && (options.sql === undefined || options.peers !== undefined);
  const peers = options.peers ?? (options.thread ? `lookout-events:${options.dataDir}` : undefined);
  const store = options.eventStoreUrl
    ? (await import("./eventstoredb/eventstoredb-event-store.ts")).openEventStoreDb({
      url: options.eventStoreUrl,
    })
    // PGlite belongs to this process: every append (in any of its threads) wakes the
    // subscriptions, so they need not poll.
    : await openPostgresEventStore(sql, { pollIntervalMs: ownPglite ? Infinity : undefined, peers });
  await sql.exec(
    RULES_DDL + INCIDENTS_DDL + CHANNELS_DDL + DELIVERIES_DDL + NOTIFY_GROUPS_DDL + SILENCES_DDL,
  );
  const guard = new AddressGuard(options.webhookAllowNets ?? []);
  const externalUrl = options.externalUrl ?? "http://localhost:8080";
  const dispatcher = new Dispatcher({
    db: sql.drizzle,
    now: options.now,
    externalUrl,
    rate: options.notificationRate ?? { perMinute: 60, burst: 20 },
  });
  const deliveries = new DeliveryWorker({
    dispatcher,
    db: sql.drizzle,
    sender: new WebhookSender({ guard }),
    now: options.now,
    baseDelayMs: options.deliveryBaseDelayMs,
    onError: (error) => (options.onError ?? console.error)(`notifications: ${error}`),
  });
  await options.log.ensureTopic(COMMANDS_TOPIC, 1);
  await options.log.ensureTopic(SAMPLES_TOPIC, options.samplePartitions ?? 8);
  const projector = new ReadModelProjector(store, sql.drizzle, {
    withIncident: async (tx, stored, event) =>
      void await queueNotifications(tx, stored, event, { now: options.now }),
    afterIncident: () => deliveries.wake(),
    onProjected: options.onProjected,
    onError: (error, event) =>
      (options.onError ?? console.error)(`rules projection at ${event.position}: ${error}`),
  });
  const wanted = { project: true, evaluate: true, deliver: true, ...options.run };
  const thread = options.thread === undefined ? undefined : await AlertingThread.start({
    log: options.thread.log,
    pglite: sql.dialect === "pglite" ? connectPort(sql) : undefined,
    postgresUrl: options.postgresUrl,
    eventStoreUrl: options.eventStoreUrl,
    peers,
    dataDir: options.dataDir,
    samplePartitions: options.samplePartitions,
    tickMs: options.tickMs,
    webhookAllowNets: options.webhookAllowNets ?? [],
    externalUrl,
    deliveryBaseDelayMs: options.deliveryBaseDelayMs,
    notificationRate: options.notificationRate,
    run: { project: wanted.project, deliver: wanted.deliver },
    onError: options.onError ?? console.error,
    onFailure: options.thread.onFailure ?? options.onError ?? console.error,
  });
  // What the thread runs is not run here.
  const run = thread
    ? { project: false, evaluate: false, deliver: false, poll: wanted.poll ?? wanted.evaluate }
    : { ...wanted, poll: wanted.poll ?? wanted.evaluate };
  const delivering = run.deliver
    ? deliveries.start().catch((error) => (options.onError ?? console.error)(error))
    : undefined;
  const running = run.project
    ? projector.start().catch((error) => (options.onError ?? console.error)(error))
    : undefined;
  const commands = new RuleCommands({ log: options.log, topic: COMMANDS_TOPIC, store });
  const incidents = new IncidentCommands({ store });
  // A round's transitions are recorded together: one read of their streams, one append.
  const recordBy = (who: string) => async (transitions: readonly GroupTransition[]) => {
    await incidents.executeMany(transitions.flatMap((t) => {
      const command = incidentCommandFor(t, incidentIdFor(t.rule.tenant, t.rule.id, t.group.key), who);
      return command ? [{ command, commandId: transitionId(t) }] : [];
    }));
  };
  const evaluator = new StreamingEvaluator({
    log: options.log,
    samplesTopic: SAMPLES_TOPIC,
    commandsTopic: COMMANDS_TOPIC,
    loadRules: async () =>
      (await listRulesByMode(sql.drizzle, "streaming")).map((row) => ({
        rule: compileRule(row.id, row.tenant, row.spec),
        version: row.version,
      })),
    record: recordBy("evaluator:streaming"),
    now: options.now,
    tickMs: options.tickMs,
    onError: (error) => (options.onError ?? console.error)(`streaming evaluator: ${error}`),
  });
  const poller = options.store === undefined ? undefined : new PollingEvaluator({
    store: options.store,
    loadRules: async () =>
      (await listRulesByMode(sql.drizzle, "polling")).map((row) => compileRule(row.id, row.tenant, row.spec)),
    openIncidents: async () =>
      (await openIncidents(sql.drizzle)).map((row) => ({ ...row, level: row.level as IncidentLevel })),
    record: recordBy("evaluator:polling"),
    now: options.now,
    intervalMs: options.pollIntervalMs ?? 60_000,
    onError: (error) => (options.onError ?? console.error)(`polling evaluator: ${error}`),
  });
  const polling = run.poll
    ? poller?.start().catch((error) => (options.onError ?? console.error)(error))
    : undefined;
  const evaluating = run.evaluate
    ? evaluator.start().catch((error) => (options.onError ?? console.error)(error))
    : undefined;
  // Samples accepted once this returns are evaluated: the evaluator has its start offsets.
  if (evaluating !== undefined) await Promise.race([evaluator.positioned, evaluating]);
  const projected = (position: bigint) =>
    thread && wanted.project ? thread.projected(position) : projector.projected(position);
  const newId = () => crypto.randomUUID();
  return {
    sql,
    store,
    projector,
    evaluator,
    rules: { commands, store, db: sql.drizzle, projected, now: options.now, newId },
    incidents: { commands: incidents, db: sql.drizzle, projected, now: options.now, newId },
    channels: { db: sql.drizzle, guard, now: options.now, newId },
    silences: {
      commands: new SilenceCommands({ store }),
      db: sql.drizzle,
      projected,
      now: options.now,
      newId,
    },
    deliveries,
    async close() {
      await thread?.close();
      await evaluator.stop();
      await evaluating;
      await poller?.stop();
      await polling;
      await projector.stop();
      await running;
      await deliveries.stop();
      await delivering;
      await store.close();
      await sql.close();
    },
  };
}

/** A port for the alert thread's connection to PGlite, which must run in a Worker to be shared. */
function connectPort(sql: SqlClient): MessagePort {
  if (sql.connect === undefined) {
    throw new Error("The alert thread needs PGlite in a Worker (openPglite with worker: true) or Postgres");
  }
  return sql.connect();
}

/** The same transition (rule, group, kind, evaluation time) always gets the same id. */
function transitionId(t: GroupTransition): string {
  return createHash("sha256")
    .update(
      JSON.stringify([t.rule.tenant, t.rule.id, t.group.key, t.transition.type, t.transition.metadata.at]),
    )
    .digest("hex");
}
