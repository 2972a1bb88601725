/**
 * One member of a Kafka consumer group through `@platformatic/kafka`, as the port's
 * `consume` iterator. The client's consumer keeps the membership (join, sync, heartbeats
 * on a timer of their own, rejoining after a rebalance); the records come from
 * `PlatformaticReader` fetches of the assigned partitions, so a batch knows where the
 * transaction markers after it end (`nextOffset`), which the client's message stream
 * does not tell. Offsets are never committed here: the caller commits after its sink has
 * acknowledged, through `GroupMember.commit`.
 *
 * `startAt` is asked once per partition, the first time this member is assigned it. A
 * partition kept through a rebalance resumes after the last batch this member committed;
 * any other resumes from the group's committed offset.
 */
import { Admin, Consumer, type ConsumerOptions } from "@platformatic/kafka";
import { type ConsumeOptions, type RecordBatch, recordBatch } from "../../domain/ports/command-log.ts";
import type { GroupConsumerSettings, GroupMember, GroupMembers } from "./group-consumer.ts";
import { PlatformaticReader } from "./platformatic-reader.ts";

export type PlatformaticClientOptions = Pick<
  ConsumerOptions<unknown, unknown, unknown, unknown>,
  "clientId" | "bootstrapBrokers" | "connectTimeout" | "retries" | "retryDelay"
>;

export async function* consumePlatformaticGroup(
  client: PlatformaticClientOptions,
  admin: Admin,
  options: ConsumeOptions,
  settings: GroupConsumerSettings,
  members: GroupMembers,
): AsyncGenerator<RecordBatch> {
  const { group, topic, signal } = options;
  if (signal?.aborted) return;
  const maxRecords = Math.max(1, options.maxRecords ?? settings.defaultMaxRecords);
  const consumer = new Consumer({
    ...client,
    groupId: group,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    rebalanceTimeout: settings.sessionTimeoutMs,
    autocommit: false,
  });
  const reader = new PlatformaticReader(consumer, settings.maxBytesPerPartition);
  const asked = new Set<number>();
  const processed = new Map<number, number>();
  const positions = new Map<number, number>();
  let generation = -1;
  const member: GroupMember = {
    async commit(partition, nextOffset) {
      processed.set(partition, nextOffset);
      await consumer.commit({ offsets: [{ topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }] });
    },
  };
  /** Where each newly assigned partition starts, after a join or a rebalance. */
  const assign = async () => {
    generation = consumer.generationId;
    const now = new Set(consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? []);
    const committed = await committedOffsets(admin, group, topic);
    const kept = new Set(positions.keys());
    positions.clear();
    for (const partition of processed.keys()) if (!now.has(partition)) processed.delete(partition);
    for (const partition of now) {
      let at: number | undefined;
      if (!asked.has(partition)) {
        asked.add(partition);
        at = options.startAt?.(partition, committed.get(partition));
      } else if (kept.has(partition)) at = processed.get(partition);
      positions.set(partition, at ?? committed.get(partition) ?? 0);
    }
  };
  const onAbort = () => void consumer.close(true).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  members.join(group, topic, member);
  try {
    consumer.topics.track(topic);
    await consumer.joinGroup({});
    while (!signal?.aborted) {
      if (consumer.generationId !== generation) await assign();
      if (positions.size === 0) {
        await new Promise((resolve) => setTimeout(resolve, settings.maxWaitMs));
        continue;
      }
      const ranges = await reader.fetchMany(topic, positions, settings.maxWaitMs);
      for (const [partition, range] of ranges) {
        const { records } = range;
        for (let i = 0; i < records.length; i += maxRecords) {
          if (signal?.aborted || consumer.generationId !== generation) break;
          const next = records[i + maxRecords]?.offset ?? range.next;
          yield recordBatch(topic, partition, records.slice(i, i + maxRecords), next);
          if (positions.has(partition)) positions.set(partition, next);
        }
        if (records.length === 0 && positions.has(partition)) positions.set(partition, range.next);
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    members.leave(group, topic, member);
    await consumer.close(true).catch(() => {});
  }
}

/** The group's committed offsets of a topic, by partition (none for a partition never committed). */
export async function committedOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, number>> {
  const [entry] = await admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: null }] });
  const committed = new Map<number, number>();
  for (const t of entry?.topics ?? []) {
    if (t.name !== topic) continue;
    for (const p of t.partitions) {
      if (p.committedOffset >= 0n) committed.set(p.partitionIndex, Number(p.committedOffset));
    }
  }
  return committed;
}
