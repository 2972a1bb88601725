/**
 * A kafkajs producer seen through the `QueueProducer` interface that `ProduceQueue`
 * drives: the same calls, with a transaction's produce results turned into where its
 * records begin in each partition (`WrittenBatch`).
 *
 * @example
 * const queue = new ProduceQueue(() => kafkajsProducer(kafka.producer(settings)), options);
 */
import type { Producer } from "kafkajs";
import type { QueueProducer } from "./produce-queue.ts";

export function kafkajsProducer(producer: Producer): QueueProducer {
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    sendBatch: (batch) => producer.sendBatch(batch),
    async transaction() {
      const transaction = await producer.transaction();
      return {
        sendBatch: async (batch) =>
          (await transaction.sendBatch(batch)).map((m) => ({
            topic: m.topicName,
            partition: m.partition,
            baseOffset: Number(m.baseOffset ?? m.offset),
          })),
        commit: () => transaction.commit(),
      };
    },
  };
}
