import assert from "node:assert/strict";
import { type KafkaLogOptions, openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { Kafka, logLevel } from "kafkajs";
import { openKafkaClientLog } from "../../adapters/kafka/kafka-client.ts";
import { Unavailable } from "../../domain/errors.ts";
import { KAFKA_BROKERS, kafkaAvailable } from "../support/kafka-broker.ts";
import { commandLogContract } from "./command-log.contract.ts";
import { waitFor } from "../support/wait-for.ts";

const bytes = (value: string) => new TextEncoder().encode(value);

/** Runs `body` with logs opened on the real broker; every log opened is closed after. */
function kafkaCase(
  title: string,
  body: (
    open: (options?: Partial<KafkaLogOptions>) => ReturnType<typeof openKafkaLog>,
    topic: string,
  ) => Promise<void>,
): void {
  Deno.test({
    name: `kafka log: ${title}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const opened: ReturnType<typeof openKafkaLog>[] = [];
      try {
        await body((options) => {
          const log = openKafkaLog({ brokers: KAFKA_BROKERS, clientId: "kafka-case", ...options });
          opened.push(log);
          return log;
        }, `kafka-case.${crypto.randomUUID().slice(0, 8)}`);
      } finally {
        for (const log of opened) await log.close();
      }
    },
  });
}

if (kafkaAvailable) {
  commandLogContract("kafka log", () => {
    const log = openKafkaLog({ brokers: KAFKA_BROKERS, clientId: "contract" });
    return Promise.resolve({ log, cleanup: () => log.close() });
  });
  commandLogContract("kafka log (platformatic)", () => {
    const log = openKafkaClientLog("platformatic", { brokers: KAFKA_BROKERS, clientId: "contract" });
    return Promise.resolve({ log, cleanup: () => log.close() });
  });

  kafkaCase("an idempotency key appended by one process is a duplicate in another", async (open, topic) => {
    const keysTopic = `${topic}.keys`;
    const first = open({ keysTopic });
    await first.ensureTopic(topic, 1);
    const record = [{ partition: 0, key: "k", value: bytes("v") }];
    assert.equal((await first.append(topic, record, { idempotencyKey: "req-1" })).duplicate, false);
    const second = open({ keysTopic });
    // Another process sees a key once its transaction's commit markers are written, a few
    // milliseconds after the append returned (see IdempotencyWindow): wait for the records.
    const visible = async (log: typeof first, n: number) =>
      await waitFor(async () => (await log.read(topic, 0, 0, 10)).length >= n, 5_000, {
        what: `${n} records`,
      });
    await visible(second, 1);
    assert.equal((await second.append(topic, record, { idempotencyKey: "req-1" })).duplicate, true);
    assert.equal((await second.append(topic, record, { idempotencyKey: "req-2" })).duplicate, false);
    await visible(first, 2);
    assert.equal((await first.append(topic, record, { idempotencyKey: "req-2" })).duplicate, true);
    assert.equal((await first.read(topic, 0, 0, 10)).length, 2);
  });

  kafkaCase("read returns every record of a range that spans many fetches", async (open, topic) => {
    const log = open({ fetchBytes: 4096 });
    await log.ensureTopic(topic, 1);
    const value = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 10; i++) {
      await log.append(
        topic,
        Array.from({ length: 30 }, (_, j) => ({ partition: 0, key: `k${i * 30 + j}`, value })),
      );
    }
    const records = await log.read(topic, 0, 17, 250);
    assert.equal(records.length, 250);
    assert.deepEqual(records.map((r) => r.offset), Array.from({ length: 250 }, (_, i) => 17 + i));
    assert.deepEqual(
      (await log.read(topic, 0, 290, 100)).map((r) => r.key),
      Array.from({ length: 10 }, (_, i) => `k${290 + i}`),
    );
    assert.deepEqual(await log.read(topic, 0, 300, 10), []);
  });

  kafkaCase(
    "an append the broker cannot take fails as unavailable instead of waiting",
    async (open, topic) => {
      const log = open({ produce: { maxPendingBytes: 10_000, ackTimeoutMs: 5_000 } });
      await log.ensureTopic(topic, 1);
      const big = new Uint8Array(8_000);
      const first = log.append(topic, [{ partition: 0, key: "a", value: big }]);
      await assert.rejects(
        log.append(topic, [{ partition: 0, key: "b", value: big }]),
        (error: Error) => error instanceof Unavailable && /waiting for the Kafka broker/.test(error.message),
      );
      await first;
      assert.deepEqual((await log.read(topic, 0, 0, 10)).map((r) => r.key), ["a"]);
    },
  );

  kafkaCase("read and consume skip the records of an aborted transaction", async (open, topic) => {
    const log = open();
    await log.ensureTopic(topic, 1);
    await log.append(topic, [{ partition: 0, key: "before", value: bytes("1") }], { idempotencyKey: "t1" });
    // Another producer's transaction that aborts, between two committed appends.
    const kafka = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: `${topic}-aborting`, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ key: "aborted", value: "x", partition: 0 }] });
      await transaction.abort();
    } finally {
      await producer.disconnect();
    }
    await log.append(topic, [{ partition: 0, key: "after", value: bytes("2") }], { idempotencyKey: "t2" });
    assert.deepEqual((await log.read(topic, 0, 0, 10)).map((r) => r.key), ["before", "after"]);
    const consumed: string[] = [];
    const controller = new AbortController();
    for await (const batch of log.consume({ group: `${topic}.g`, topic, signal: controller.signal })) {
      consumed.push(...batch.records.map((r) => r.key));
      if (consumed.includes("after")) controller.abort();
    }
    assert.deepEqual(consumed, ["before", "after"]);
  });
}
