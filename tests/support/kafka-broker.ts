/**
 * The Kafka broker the tests run against: `LOOKOUT_TEST_KAFKA_BROKERS` (default
 * 127.0.0.1:9092, what `deno task kafka` and `.ci/run` start). Without a broker the
 * Kafka tests are skipped with a message, and in CI a test fails saying it is missing
 * (`component`). The fault tests start brokers of their own from the same jars.
 *
 * @example
 * if (kafkaAvailable) commandLogContract("kafka log", () => openKafkaLog({ brokers: KAFKA_BROKERS }));
 */
import { component } from "./component.ts";

export const KAFKA_BROKERS = (Deno.env.get("LOOKOUT_TEST_KAFKA_BROKERS") ?? "127.0.0.1:9092").split(",");

async function reachable(address: string): Promise<boolean> {
  const [hostname, port] = address.split(":");
  try {
    const connection = await Deno.connect({ hostname, port: Number(port) });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

const broker = component(
  "Kafka broker",
  (await reachable(KAFKA_BROKERS[0])) ? KAFKA_BROKERS.join(",") : undefined,
  `no broker at ${KAFKA_BROKERS[0]}: start one with \`deno task kafka\` (.ci/run does) ` +
    `or set LOOKOUT_TEST_KAFKA_BROKERS`,
);

/** Whether to register the Kafka tests. */
export const kafkaAvailable: boolean = broker.url !== undefined;
