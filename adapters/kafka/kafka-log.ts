/**
 * The command log on Kafka through kafkajs (the default client), for the distributed
 * deployment. Port topics are Kafka topics with the same names and partitions; a
 * consumer group of the port is a Kafka consumer group, so projector processes running
 * the same projection share its partitions. The port's semantics are `KafkaPortLog`'s;
 * this file makes kafkajs' requests for it.
 *
 * @example
 * const log = openKafkaLog({ brokers: ["127.0.0.1:9092"], clientId: "lookout-ingest-1" });
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
import { Kafka, logLevel } from "kafkajs";
import { consumeGroup, type GroupConsumerSettings } from "./group-consumer.ts";
import { guardedSocketFactory } from "./guarded-socket.ts";
import { createCluster } from "./kafka-cluster.ts";
import { type KafkaClientParts, KafkaPortLog } from "./kafka-port-log.ts";
import { PartitionReader } from "./partition-reader.ts";
import { kafkajsProducer } from "./kafkajs-producer.ts";
import type { ProduceQueueOptions } from "./produce-queue.ts";
import { commitFromOutside } from "./offset-commit.ts";
import { retriable } from "./retriable.ts";
import { TopicCatalog } from "./topic-catalog.ts";

export interface KafkaLogOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Replication of topics this log creates (1 for a single broker, 3 in production). */
  readonly replicationFactor?: number;
  /** `retention.ms` of topics this log creates (how far back a replay can go). */
  readonly retentionMs?: number;
  /** Largest record batch a topic accepts (`max.message.bytes`). */
  readonly maxMessageBytes?: number;
  readonly idempotencyWindowMs?: number;
  /**
   * Transactional id of the keyed producer; unique per process (default: the client id
   * and a random suffix). A process restarted with the same id fences its predecessor's
   * open transaction at once instead of after `transactionTimeoutMs`.
   */
  readonly transactionalId?: string;
  /** How long the broker keeps a silent producer's transaction open before aborting it. */
  readonly transactionTimeoutMs?: number;
  /** Bytes asked for per fetch by `read` (replays and the keys topic). */
  readonly fetchBytes?: number;
  readonly keysTopic?: string;
  readonly produce?: Partial<ProduceQueueOptions>;
  readonly consumer?: Partial<GroupConsumerSettings>;
  readonly now?: () => number;
}

/** kafkajs' requests for `KafkaPortLog`. */
export function kafkajsParts(options: KafkaLogOptions): KafkaClientParts {
  const kafka = new Kafka({
    clientId: options.clientId ?? "lookout",
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    socketFactory: guardedSocketFactory,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  });
  const admin = kafka.admin();
  const cluster = createCluster(kafka);
  const producerSettings = {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Until the broker answers: a retried request keeps its sequence numbers, so the
    // broker recognises one that had landed; ProduceQueue's timeout answers the caller.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
  };
  const committedOffsets = async (group: string, topic: string) => {
    const [entry] = await retriable(() => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const committed = new Map<number, number>();
    for (const p of entry?.partitions ?? []) {
      if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
    }
    return committed;
  };
  return {
    topics: new TopicCatalog(admin, cluster, options),
    reader: new PartitionReader(cluster, { fetchBytes: options.fetchBytes }),
    plainProducer: () => kafkajsProducer(kafka.producer(producerSettings)),
    keyedProducer: (transactionalId) =>
      kafkajsProducer(kafka.producer({
        ...producerSettings,
        transactionalId,
        transactionTimeout: options.transactionTimeoutMs ?? 10_000,
      })),
    listOffsets: (topic, partitions, end, deadlineMs) =>
      retriable(async () => {
        await cluster.addTargetTopic(topic);
        const [entry] = await cluster.fetchTopicsOffset([{
          topic,
          fromBeginning: end === "earliest",
          partitions: partitions.map((partition) => ({ partition })),
        }]);
        return new Map(entry.partitions.map((p) => [p.partition, Number(p.offset)]));
      }, deadlineMs),
    committedOffsets,
    async *consume(consume, settings, members) {
      const committed = await committedOffsets(consume.group, consume.topic);
      yield* consumeGroup(kafka, consume, committed, settings, members);
    },
    commitOutside: (group, topic, partition, nextOffset) =>
      retriable(() => commitFromOutside(cluster, { group, topic, partition, nextOffset })),
    connect: async () => {
      await Promise.all([admin.connect(), cluster.connect()]);
    },
    close: async () => {
      await Promise.allSettled([admin.disconnect(), cluster.disconnect()]);
    },
  };
}

export function openKafkaLog(options: KafkaLogOptions): KafkaPortLog {
  return new KafkaPortLog(kafkajsParts(options), options);
}
