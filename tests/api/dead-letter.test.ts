/**
 * Poison records: garbage bytes on the samples topic go to the dead-letter topic with
 * their reason; the valid records of the same batch are projected and the stream goes on.
 * A record whose processing (an operator) keeps throwing is dead-lettered after
 * `maxTries`, one that throws fewer times lands. On the embedded log and on the real
 * Kafka broker.
 */
import assert from "node:assert/strict";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";
import { Projector } from "../../adapters/projector.ts";
import type { Projection } from "../../projections/projection.ts";
import { rawProjection } from "../../projections/raw.ts";
import { waitFor } from "../support/wait-for.ts";
import { openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { KAFKA_BROKERS, kafkaAvailable } from "../support/kafka-broker.ts";
import { openPipeline, type PipelineLog, sqliteLog } from "../support/pipeline.ts";

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
      const garbage = (await pipeline.log.read(TOPIC, 0, 0, 10)).find((r) => r.key === "x");
      const letters = await pipeline.log.read(`${TOPIC}.dlq`, 0, 0, 10);
      assert.equal(letters.length, 2, "one letter per projection");
      for (const letter of letters) {
        const header = JSON.parse(new TextDecoder().decode(letter.value).split("\n")[0]);
        assert.equal(header.offset, garbage?.offset);
        assert.match(header.reason, /bad magic/);
      }
    } finally {
      await pipeline.close();
    }
  });
}

for (const [name, openLog] of [["embedded log", undefined], ["kafka", kafkaLog]] as const) {
  if (name === "kafka" && !kafkaAvailable) continue;
  Deno.test({
    name: `dead letters (${name}): a record whose processing keeps failing is set aside after maxTries, ` +
      `one that fails less often lands, and the stream goes on`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const { log, topic, cleanup } = await (openLog ?? sqliteLog)();
    await log.ensureTopic(topic, 1);
    const store = await sharedStore();
    const [poison, flaky, good] = ["poison", "flaky", "good"].map((t) => uniqueName(`dlq-${t}`));
    const raw = rawProjection({ topic, name: uniqueName("raw-tries") });
    let poisonAlone = 0;
    let flakyFailures = 0;
    // An operator that throws: always on the poison tenant's records, twice on the flaky one's.
    const throwing: Projection<unknown> = {
      ...raw,
      plan(batch, state, now) {
        const tenants = new Set(batch.records.map((r) => r.key));
        if (tenants.has(poison)) {
          if (batch.records.length === 1) poisonAlone++;
          throw new Error("operator threw on a poison record");
        }
        if (tenants.has(flaky) && flakyFailures < 2) {
          flakyFailures++;
          throw new Error("operator threw for a while");
        }
        return raw.plan(batch, state as never, now);
      },
    };
    const projector = new Projector(throwing, log, store, { maxRecords: 10, maxTries: 3 });
    try {
      const send = async (tenant: string, value: number) => {
        const b = new SampleBatchBuilder(tenant);
        const s = b.addSeries({ id: seriesId(tenant, "m", {}), metric: "m", labels: {} });
        b.addSample(s, Date.now() - 60_000 + value, value);
        await appendSamples({ log, topic, partitions: 1 }, b.build(), `${tenant}:${value}`);
      };
      await send(good, 1);
      await send(poison, 2);
      await send(flaky, 3);
      await send(good, 4);
      const running = projector.start();
      await send(good, 5);
      await waitFor(
        async () => {
          const [o] = await log.offsets(topic, raw.name);
          return o.committed === o.end;
        },
        20_000,
        { what: "the projector to commit every record" },
      );
      await projector.stop();
      await running;
      const counts = new Map<string, number>();
      for (const tenant of [poison, flaky, good]) {
        const rows = await store.query<{ n: string }>(
          "SELECT count() AS n FROM samples WHERE tenant = {t:String}",
          { t: tenant },
        );
        counts.set(tenant, Number(rows[0].n));
      }
      assert.deepEqual([counts.get(poison), counts.get(flaky), counts.get(good)], [0, 1, 3]);
      assert.equal(poisonAlone, 3, "the poison record is tried maxTries times on its own");
      const letters = await log.read(`${topic}.dlq`, 0, 0, 10);
      assert.equal(letters.length, 1);
      assert.equal(letters[0].key, poison);
      const header = JSON.parse(new TextDecoder().decode(letters[0].value).split("\n")[0]);
      assert.match(header.reason, /projection failed 3 times: Error: operator threw on a poison record/);
      assert.equal(projector.deadLettered, 1);
    } finally {
      await projector.stop();
      await cleanup();
    }
  });
}
