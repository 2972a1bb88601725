/**
 * Topics of the Kafka command log: creating them (with the log's replication, retention
 * and record size), waiting until each partition has a leader that answers, and the
 * partition count that appends are checked against, cached per topic.
 */
import type { Admin } from "kafkajs";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { OutgoingRecord } from "../../domain/ports/command-log.ts";
import type { KafkaCluster } from "./kafka-cluster.ts";
import { retriable } from "./retriable.ts";

export interface TopicSettings {
  readonly replicationFactor?: number;
  readonly maxMessageBytes?: number;
}

export class TopicCatalog {
  readonly #partitions = new Map<string, number>();

  constructor(
    private readonly admin: Admin,
    private readonly cluster: KafkaCluster,
    private readonly options: TopicSettings,
  ) {}

  /** Creates the topic unless present (a present topic keeps its partitions). */
  async create(topic: string, partitions: number, config: Record<string, string>): Promise<void> {
    const configEntries = Object.entries({
      "max.message.bytes": String(this.options.maxMessageBytes ?? 64 * 1024 * 1024),
      ...config,
    }).map(([name, value]) => ({ name, value }));
    await retriable(() =>
      this.admin.createTopics({
        // kafkajs' own wait for leaders can end in an unhandled rejection when the broker
        // is slow to host a new partition; #awaitLeaders waits instead.
        waitForLeaders: false,
        topics: [{
          topic,
          numPartitions: partitions,
          replicationFactor: this.options.replicationFactor ?? 1,
          configEntries,
        }],
      })
    );
    await this.#awaitLeaders(topic);
    this.#partitions.delete(topic);
  }

  /** Until every partition of the topic has a leader that answers for it. */
  async #awaitLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) {
          await this.cluster.refreshMetadata();
          await this.cluster.fetchTopicsOffset([{
            topic,
            fromBeginning: false,
            partitions: partitions.map((p) => ({ partition: p.partitionId })),
          }]);
          return;
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) {
        throw new Error(`Cannot use topic "${topic}": its partitions have no leader`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The topic's partition count; `action` names what fails when the topic is missing. */
  async partitionCount(topic: string, action: string): Promise<number> {
    const known = this.#partitions.get(topic);
    if (known !== undefined) return known;
    let count = 0;
    try {
      const { topics } = await retriable(() => this.admin.fetchTopicMetadata({ topics: [topic] }));
      count = topics[0]?.partitions.length ?? 0;
    } catch (error) {
      if ((error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
    }
    if (count === 0) throw new NotFound(`Cannot ${action}: topic "${topic}" does not exist`);
    this.#partitions.set(topic, count);
    return count;
  }
}

/** Fails with a reason when a record names a partition the topic does not have. */
export function assertPartitions(topic: string, count: number, records: readonly OutgoingRecord[]): void {
  for (const record of records) {
    if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
      throw new ValidationError(
        `Cannot append to "${topic}": partition ${record.partition} is outside the topic's partitions 0..${
          count - 1
        }`,
      );
    }
  }
}
