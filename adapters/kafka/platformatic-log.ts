/**
 * The command log on Kafka through `@platformatic/kafka`: the same port and the same
 * guarantees as with kafkajs (`KafkaPortLog` holds them); this file makes the client's
 * requests for it.
 *
 * @example
 * const log = openPlatformaticLog({ brokers: ["127.0.0.1:9092"], clientId: "lookout-ingest-1" });
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
import { Admin, Consumer, FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
import type { KafkaLogOptions } from "./kafka-log.ts";
import { type KafkaClientParts, KafkaPortLog } from "./kafka-port-log.ts";
import {
  committedOffsets,
  consumePlatformaticGroup,
  type PlatformaticClientOptions,
} from "./platformatic-group.ts";
import { platformaticProducer } from "./platformatic-producer.ts";
import { PlatformaticReader } from "./platformatic-reader.ts";
import { PlatformaticTopics } from "./platformatic-topics.ts";

/** `@platformatic/kafka`'s requests for `KafkaPortLog`. */
export function platformaticParts(options: KafkaLogOptions): KafkaClientParts {
  const clientId = options.clientId ?? "lookout";
  const client: PlatformaticClientOptions = {
    clientId,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: 3_000,
    retries: 8,
    retryDelay: 100,
  };
  const admin = new Admin(client);
  /** Fetches and offset lists without joining a group. */
  const consumer = new Consumer({ ...client, groupId: `${clientId}-reader`, autocommit: false });
  // Until the broker answers: a retried request keeps its sequence numbers, so the
  // broker recognises one that had landed; ProduceQueue's timeout answers the caller.
  const producer = { ...client, retries: true, retryDelay: 100 };
  return {
    topics: new PlatformaticTopics(admin, consumer, options),
    reader: new PlatformaticReader(consumer, options.fetchBytes),
    plainProducer: () => platformaticProducer(producer),
    keyedProducer: (transactionalId) =>
      platformaticProducer(
        // The client's request timeout is also what it asks as the transaction timeout.
        { ...producer, transactionalId, timeout: options.transactionTimeoutMs ?? 10_000 },
      ),
    // The client retries its own requests (`retries`); no deadline of ours on top.
    async listOffsets(topic, partitions, end) {
      const timestamp = end === "earliest" ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST;
      const listed = await admin.listOffsets({
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        topics: [{
          name: topic,
          partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })),
        }],
      });
      return new Map(listed.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, Number(p.offset)])));
    },
    committedOffsets: (group, topic) => committedOffsets(admin, group, topic),
    consume: (consume, settings, members) =>
      consumePlatformaticGroup(client, admin, consume, settings, members),
    async commitOutside(group, topic, partition, nextOffset) {
      await admin.alterConsumerGroupOffsets({
        groupId: group,
        topics: [{ name: topic, partitionOffsets: [{ partition, offset: BigInt(nextOffset) }] }],
      });
    },
    connect: () => Promise.resolve(),
    close: async () => {
      await Promise.allSettled([admin.close(), consumer.close(true)]);
    },
  };
}

export function openPlatformaticLog(options: KafkaLogOptions): KafkaPortLog {
  return new KafkaPortLog(platformaticParts(options), options);
}
