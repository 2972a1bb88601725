/**
 * What both Kafka command logs (kafkajs and `@platformatic/kafka`) share besides the
 * queue and the idempotency window: their default settings, the keys topic's settings,
 * and the registry of this process's group members through which `commit` goes.
 */
import type { GroupConsumerSettings, GroupMember, GroupMembers } from "./group-consumer.ts";
import type { KafkaLogOptions } from "./kafka-log.ts";
import type { ProduceQueueOptions } from "./produce-queue.ts";

const HOUR_MS = 3_600_000;

export function produceSettings(options: KafkaLogOptions): ProduceQueueOptions {
  return {
    maxPendingBytes: 64 * 1024 * 1024,
    ackTimeoutMs: 5_000,
    maxRequestBytes: 16 * 1024 * 1024,
    ...options.produce,
  };
}

export function consumerSettings(options: KafkaLogOptions): GroupConsumerSettings {
  return {
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxWaitMs: 500,
    defaultMaxRecords: 1_000,
    ...options.consumer,
  };
}

export interface KeysTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly windowMs: number;
  readonly config: Record<string, string>;
}

export function keysTopic(options: KafkaLogOptions): KeysTopic {
  const windowMs = options.idempotencyWindowMs ?? HOUR_MS;
  return {
    topic: options.keysTopic ?? "lookout.idempotency-keys",
    partitions: 4,
    windowMs,
    config: { "cleanup.policy": "compact,delete", "retention.ms": String(windowMs) },
  };
}

/** This process's live members per group and topic. */
export class MemberRegistry implements GroupMembers {
  readonly #members = new Map<string, Set<GroupMember>>();

  join(group: string, topic: string, member: GroupMember): void {
    const key = `${group}\u0000${topic}`;
    this.#members.set(key, (this.#members.get(key) ?? new Set()).add(member));
  }

  leave(group: string, topic: string, member: GroupMember): void {
    this.#members.get(`${group}\u0000${topic}`)?.delete(member);
  }

  /** A member of the group consuming the topic here, if any. */
  any(group: string, topic: string): GroupMember | undefined {
    return this.#members.get(`${group}\u0000${topic}`)?.values().next().value;
  }
}
