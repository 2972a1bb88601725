/**
 * A `@platformatic/kafka` producer seen through the `QueueProducer` interface that
 * `ProduceQueue` drives, so both clients share one group-commit queue and one way of
 * deciding idempotency keys. A kafkajs batch (`TopicMessages`) becomes one `send` of
 * messages that each name their topic; a transaction is `beginTransaction`, one send
 * and a commit. The producer is idempotent and waits for every in-sync replica
 * (`acks=all`), as the kafkajs one is.
 *
 * @example
 * const queue = new ProduceQueue(() => platformaticProducer({ bootstrapBrokers, clientId }), options);
 */
import { Buffer } from "node:buffer";
import { type MessageToProduce, ProduceAcks, Producer, type ProducerOptions } from "@platformatic/kafka";
import type { TopicMessages } from "kafkajs";
import type { QueueProducer } from "./produce-queue.ts";

export type PlatformaticProducerOptions = ProducerOptions<Buffer, Buffer, Buffer, Buffer>;

export function platformaticProducer(options: PlatformaticProducerOptions): QueueProducer {
  let producer: Producer | undefined;
  const open = () => {
    producer ??= new Producer({
      ...options,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
    return producer;
  };
  return {
    async connect() {
      const client = open();
      // A transactional producer gets its id and epoch when its first transaction begins;
      // a plain idempotent one asks for them here, so a broken broker fails the connect.
      if (options.transactionalId === undefined) await client.initIdempotentProducer({});
    },
    async disconnect() {
      const client = producer;
      producer = undefined;
      await client?.close(true);
    },
    async sendBatch({ topicMessages }) {
      await open().send({ messages: toMessages(topicMessages), acks: ProduceAcks.ALL });
    },
    async transaction() {
      const transaction = await open().beginTransaction();
      return {
        sendBatch: async ({ topicMessages }) => {
          const result = await transaction.send({
            messages: toMessages(topicMessages),
            acks: ProduceAcks.ALL,
          });
          return (result.offsets ?? []).map((o) => ({
            topic: o.topic,
            partition: o.partition,
            baseOffset: Number(o.offset),
          }));
        },
        commit: () => transaction.commit(),
      };
    },
  };
}

function toMessages(batches: readonly TopicMessages[]): MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] {
  const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
  for (const { topic, messages: list } of batches) {
    for (const message of list) {
      messages.push({
        topic,
        partition: message.partition,
        key: message.key === null || message.key === undefined ? undefined : asBuffer(message.key),
        value: message.value === null ? undefined : asBuffer(message.value),
      });
    }
  }
  return messages;
}

function asBuffer(value: string | Buffer): Buffer {
  return typeof value === "string" ? Buffer.from(value) : value;
}
