/**
 * Opens the command log a process is configured for, from a plain description that can
 * be sent to a Worker (`alerting-thread.ts`), so another thread opens the same log the
 * same way: the embedded SQLite file (a connection of its own, woken by the appends of
 * the process's other connections through `peers`) or Kafka (a client of its own).
 *
 * @example
 * const spec: LogSpec = { kind: "sqlite", options: { path: "data/log.sqlite", sync: "full" } };
 * const log = openLogFrom(spec);
 */
import type { CommandLog } from "../domain/ports/command-log.ts";
import { openSqliteLog, type SqliteLogOptions } from "./embedded-log/sqlite-log.ts";
import { type KafkaClient, openKafkaClientLog } from "./kafka/kafka-client.ts";
import type { KafkaLogOptions } from "./kafka/kafka-log.ts";

export type LogSpec =
  | { readonly kind: "sqlite"; readonly options: Omit<SqliteLogOptions, "now" | "peers" | "prunes"> }
  | { readonly kind: "kafka"; readonly client: KafkaClient; readonly options: KafkaLogOptions };

/** The channel the connections of one process to an embedded log wake each other on. */
function logPeers(spec: LogSpec): string | undefined {
  return spec.kind === "sqlite" ? `lookout-log:${spec.options.path}` : undefined;
}

/**
 * `another`: a further connection of this process (a Worker's), which leaves the embedded
 * log's retention to the first.
 */
export function openLogFrom(spec: LogSpec, connection: "first" | "another" = "first"): CommandLog {
  switch (spec.kind) {
    case "sqlite":
      return openSqliteLog({ ...spec.options, peers: logPeers(spec), prunes: connection === "first" });
    case "kafka":
      return openKafkaClientLog(spec.client, spec.options);
  }
}
