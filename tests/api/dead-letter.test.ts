/**
 * Poison records: garbage bytes on the samples topic go to the dead-letter topic with
 * their reason; the valid records of the same batch are projected and the stream goes on.
 * On the embedded log and on the real Kafka broker.
 */
import assert from "node:assert/strict";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { uniqueName } from "../support/analytics.ts";
import { openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { KAFKA_BROKERS, kafkaAvailable } from "../support/kafka-broker.ts";
import { openPipeline, type PipelineLog } from "../support/pipeline.ts";

function kafkaLog(): Promise<PipelineLog> {
  const log = openKafkaLog({ brokers: KAFKA_BROKERS, clientId: "dead-letter" });
  return Promise.resolve({ log, topic: uniqueName("dlq.samples"), cleanup: () => log.close() });
}

for (const [name, openLog] of [["embedded log", undefined], ["kafka", kafkaLog]] as const) {
  if (name === "kafka" && !kafkaAvailable) continue;
  Deno.test({
    name:
      `dead letters (${name}): garbage records are set aside with a reason, valid ones in the same batch land`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const pipeline = await openPipeline({ partitions: 1, maxRecords: 10, openLog });
    const TOPIC = pipeline.topic;
    try {
      const tenant = uniqueName("dlq");
      const send = async (value: number, key: string) => {
        const b = new SampleBatchBuilder(tenant);
        const s = b.addSeries({ id: seriesId(tenant, "m", {}), metric: "m", labels: {} });
        b.addSample(s, Date.now() - 60_000 + value, value);
        await appendSamples({ log: pipeline.log, topic: TOPIC, partitions: 1 }, b.build(), key);
      };
      await send(1, "a");
      await pipeline.log.append(TOPIC, [{
        partition: 0,
        key: "x",
        value: new Uint8Array([1, 2, 3, 4, 5, 6]),
      }]);
      await send(2, "b");
      pipeline.start();
      await pipeline.caughtUp();
      await send(3, "c");
      await pipeline.caughtUp();
      const rows = await pipeline.store.query<{ n: string; s: number }>(
        "SELECT count() AS n, sum(value) AS s FROM samples WHERE tenant = {t:String}",
        { t: tenant },
      );
      assert.equal(Number(rows[0].n), 3);
      assert.equal(rows[0].s, 6);
      const letters = await pipeline.log.read(`${TOPIC}.dlq`, 0, 0, 10);
      assert.equal(letters.length, 2, "one letter per projection");
      for (const letter of letters) {
        const header = JSON.parse(new TextDecoder().decode(letter.value).split("\n")[0]);
        assert.equal(header.offset, 1);
        assert.match(header.reason, /bad magic/);
      }
    } finally {
      await pipeline.close();
    }
  });
}
