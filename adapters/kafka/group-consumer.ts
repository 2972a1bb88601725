/**
 * One member of a Kafka consumer group, as the port's `consume` iterator. Partitions are
 * shared with the group's other members (other processes running the same projection)
 * and move on rebalances. Offsets are never committed here: the caller commits after its
 * sink has acknowledged (`KafkaPortLog.commit`), and kafkajs' own position advances
 * only past batches the caller has finished with (see `BatchHandoff`).
 *
 * `startAt` is asked once per partition, the first time this member is assigned it. A
 * partition this member keeps through a rebalance resumes after the last batch it
 * committed, even when Kafka refused that commit during the rebalance; a partition that
 * is new to it resumes from the group's committed offset.
 */
import type { Kafka, KafkaMessage } from "kafkajs";
import { type ConsumeOptions, type RecordBatch, recordBatch } from "../../domain/ports/command-log.ts";
import { BatchHandoff } from "./batch-handoff.ts";
import { commitAsMember } from "./offset-commit.ts";
import { toLogRecord } from "./partition-reader.ts";
import { retriable } from "./retriable.ts";

export interface GroupConsumerSettings {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxWaitMs: number;
  readonly defaultMaxRecords: number;
}

/** A live member of a group in this process, through which the log commits. */
export interface GroupMember {
  commit(partition: number, nextOffset: number): Promise<void>;
}

export interface GroupMembers {
  join(group: string, topic: string, member: GroupMember): void;
  leave(group: string, topic: string, member: GroupMember): void;
}

export async function* consumeGroup(
  kafka: Kafka,
  options: ConsumeOptions,
  committed: ReadonlyMap<number, number | undefined>,
  settings: GroupConsumerSettings,
  members: GroupMembers,
): AsyncGenerator<RecordBatch> {
  const { group, topic, signal } = options;
  if (signal?.aborted) return;
  const maxRecords = Math.max(1, options.maxRecords ?? settings.defaultMaxRecords);
  const handoff = new BatchHandoff<RecordBatch>();
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    // The long poll bounds how long leaving the group takes after an abort.
    maxWaitTimeInMs: settings.maxWaitMs,
    allowAutoTopicCreation: false,
  });
  const asked = new Set<number>();
  let assigned = new Set<number>();
  const processed = new Map<number, number>();
  const member: GroupMember = {
    async commit(partition, nextOffset) {
      processed.set(partition, nextOffset);
      await retriable(() => commitAsMember(consumer, { group, topic, partition, nextOffset }));
    },
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Emitted after the group's SyncGroup and before the first fetch of the new
    // assignment, so a seek made here decides where that fetch starts.
    const now = new Set<number>(payload.memberAssignment[topic] ?? []);
    for (const partition of processed.keys()) if (!now.has(partition)) processed.delete(partition);
    for (const partition of now) {
      let at: number | undefined;
      if (!asked.has(partition)) {
        asked.add(partition);
        at = options.startAt?.(partition, committed.get(partition));
      } else if (assigned.has(partition)) {
        at = processed.get(partition);
      }
      if (at !== undefined) consumer.seek({ topic, partition, offset: String(at) });
    }
    assigned = now;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) handoff.end(payload.error);
  });
  // Leaving the group at once, not when the caller next pulls: a caller stuck in its sink
  // must not keep its partitions from the group's other members.
  const onAbort = () => {
    handoff.end();
    members.leave(group, topic, member);
    void consumer.disconnect().catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  members.join(group, topic, member);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    if (signal?.aborted) return;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        const records = batch.messages
          .filter((m) => !(m as KafkaMessage & { isControlRecord?: boolean }).isControlRecord)
          .map((m) => toLogRecord(topic, batch.partition, m));
        // The last chunk ends after the fetch's trailing transaction markers, the others
        // where the next chunk starts.
        const end = Number(batch.lastOffset()) + 1;
        for (let i = 0; i < records.length; i += maxRecords) {
          if (!isRunning() || isStale()) return;
          const chunk = records.slice(i, i + maxRecords);
          const next = records[i + maxRecords]?.offset ?? end;
          await keepingAlive(
            handoff.put(recordBatch(topic, batch.partition, chunk, next)),
            heartbeat,
            settings,
          );
          resolveOffset(String(next - 1));
        }
      },
    });
    for (let batch = await handoff.take(); batch; batch = await handoff.take()) yield batch;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    handoff.end();
    members.leave(group, topic, member);
    await consumer.disconnect().catch(() => {});
  }
}

/** Heartbeats while the caller works on a batch, so a slow sink is not taken for a dead member. */
async function keepingAlive(
  done: Promise<void>,
  heartbeat: () => Promise<void>,
  settings: GroupConsumerSettings,
): Promise<void> {
  const timer = setInterval(() => heartbeat().catch(() => {}), settings.heartbeatIntervalMs);
  try {
    await done;
  } finally {
    clearInterval(timer);
  }
}
