/**
 * Finds the Kafka broker the tests run against: `LOOKOUT_TEST_KAFKA_BROKERS` (default
 * 127.0.0.1:9092, what `deno task kafka` and `.ci/run` start). Tests that need it call
 * `kafkaTest`: with no broker they fail when CI=true and are skipped with a message
 * otherwise, as TESTING.md asks.
 *
 * @example
 * kafkaTest("kafka log: appends survive", async (brokers) => { ... });
 */
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

/** Whether the broker answers; reports why not once per test file. */
export const kafkaAvailable: boolean = await reachable(KAFKA_BROKERS[0]);
const inCi = Deno.env.get("CI") === "true";

if (!kafkaAvailable && !inCi) {
  console.warn(
    `Kafka tests skipped: no broker at ${KAFKA_BROKERS[0]}. Start one with \`deno task kafka\` ` +
      `(or set LOOKOUT_TEST_KAFKA_BROKERS).`,
  );
}

/** Whether to register Kafka tests: always in CI (so a missing broker fails them). */
export const runKafkaTests: boolean = kafkaAvailable || inCi;

/** Fails at once, naming what is missing, when CI has no broker. */
export function requireKafka(): void {
  if (!kafkaAvailable) {
    throw new Error(`No Kafka broker at ${KAFKA_BROKERS[0]}: .ci/run starts one with scripts/kafka/start.sh`);
  }
}
