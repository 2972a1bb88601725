/**
 * Which Kafka client carries the command log: kafkajs (the default) or
 * `@platformatic/kafka`. Both implement the same port with the same guarantees and pass
 * the same contract suite; `bench/stage-kafka-clients.ts` measures them side by side.
 *
 * @example
 * const log = openKafkaClientLog("platformatic", { brokers: ["127.0.0.1:9092"] });
 */
import type { CommandLog } from "../../domain/ports/command-log.ts";
import { type KafkaLogOptions, openKafkaLog } from "./kafka-log.ts";
import { openPlatformaticLog } from "./platformatic-log.ts";

export const KAFKA_CLIENTS = ["kafkajs", "platformatic"] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

export function openKafkaClientLog(
  client: KafkaClient,
  options: KafkaLogOptions,
): CommandLog & { readonly pendingBytes: number } {
  switch (client) {
    case "kafkajs":
      return openKafkaLog(options);
    case "platformatic":
      return openPlatformaticLog(options);
    default: {
      const never: never = client;
      throw new Error(`Unknown Kafka client ${never}`);
    }
  }
}
