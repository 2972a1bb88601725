/**
 * Two projector members of one consumer group on the real Kafka broker, joining and
 * leaving while samples keep arriving: A starts alone, B joins (the group rebalances and
 * partitions move to B), A leaves (they all move to B). Every sample must be in raw and
 * in the 1m rollup exactly once (lost = 0, dup = 0), although a partition can move
 * between a member's ClickHouse insert and its commit. The two members share one
 * ClickHouse engine, as two projector processes share a ClickHouse server. The control
 * appends one request twice under two keys and must count its samples twice in the 1m
 * rollup (raw keeps one row per series and timestamp once the parts merge).
 */
import assert from "node:assert/strict";
import { openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { Projector } from "../../adapters/projector.ts";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import type { CommandLog } from "../../domain/ports/command-log.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { rawProjection } from "../../projections/raw.ts";
import { rollupProjection } from "../../projections/rollup.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";
import { KAFKA_BROKERS, kafkaAvailable } from "../support/kafka-broker.ts";
import { waitFor } from "../support/wait-for.ts";

const PARTITIONS = 4;
const SERIES = 40;
const REQUESTS = 90;
const PER_REQUEST = 120;

if (kafkaAvailable) {
  Deno.test({
    name:
      "kafka: projector members joining and leaving during load store every sample once (lost = 0, dup = 0)",
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const store = await sharedStore();
    const topic = uniqueName("rebalance.samples");
    const tenant = uniqueName("rebalance");
    const names = { raw: uniqueName("raw"), rollup: uniqueName("rollup") };
    const logs = [0, 1, 2].map((i) => openKafkaLog({ brokers: KAFKA_BROKERS, clientId: `rebalance-${i}` }));
    const [producerLog, logA, logB] = logs;
    const base = Date.now() - 3_600_000;
    const send = async (r: number, key: string) => {
      const b = new SampleBatchBuilder(tenant);
      const index = Array.from({ length: SERIES }, (_, s) => {
        const labels = { s: String(s) };
        return b.addSeries({ id: seriesId(tenant, "m", labels), metric: "m", labels });
      });
      for (let i = 0; i < PER_REQUEST; i++) {
        const n = r * PER_REQUEST + i;
        b.addSample(index[n % SERIES], base + n * 10, n);
      }
      await appendSamples({ log: producerLog, topic, partitions: PARTITIONS }, b.build(), key);
    };
    const projected = { a: 0, b: 0 };
    const members = (log: CommandLog, maxRecords: number, member: "a" | "b") => {
      const onBatch = (_: string, counters: { samples: number }) => projected[member] += counters.samples;
      return [
        new Projector(rawProjection({ topic, name: names.raw }), log, store, { maxRecords, onBatch }),
        new Projector(rollupProjection({ topic, name: names.rollup }), log, store, { maxRecords, onBatch }),
      ];
    };
    try {
      await producerLog.ensureTopic(topic, PARTITIONS);
      const a = members(logA, 3, "a");
      const b = members(logB, 5, "b");
      const running = a.map((p) => p.start());
      for (let r = 0; r < REQUESTS; r++) {
        if (r === 30) running.push(...b.map((p) => p.start()));
        if (r === 60) await Promise.all(a.map((p) => p.stop()));
        await send(r, `r${r}`);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const caughtUp = async () => {
        let behind = 0;
        for (const name of Object.values(names)) {
          for (const o of await producerLog.offsets(topic, name)) behind += o.end - (o.committed ?? 0);
        }
        return behind === 0;
      };
      await waitFor(caughtUp, 60_000, { what: "both groups to commit every record" });
      const figures = async () => {
        const [raw] = await store.query<{ stored: string; distinct: string }>(
          "SELECT count() AS stored, uniqExact(series_id, ts) AS distinct FROM samples WHERE tenant = {t:String}",
          { t: tenant },
        );
        const [rollup] = await store.query<{ counted: string }>(
          "SELECT sum(count) AS counted FROM rollup_1m WHERE tenant = {t:String}",
          { t: tenant },
        );
        const distinct = Number(raw.distinct);
        return { stored: Number(raw.stored), distinct, counted: Number(rollup.counted) };
      };
      const expected = REQUESTS * PER_REQUEST;
      const after = await figures();
      const report = {
        lost: expected - after.distinct,
        dup: after.stored - after.distinct,
        rollupLost: Math.max(0, expected - after.counted),
        rollupDup: Math.max(0, after.counted - expected),
      };
      console.log(
        `members joining and leaving: ${JSON.stringify(report)}; samples projected ${
          JSON.stringify(projected)
        }`,
      );
      assert.ok(projected.a > 0 && projected.b > 0, "both members must have projected part of the stream");
      assert.deepEqual(report, { lost: 0, dup: 0, rollupLost: 0, rollupDup: 0 });

      // Control: the same request under a second key is a genuine second copy.
      await send(0, "r0-again");
      await waitFor(caughtUp, 60_000, { what: "the control to be projected" });
      const control = await figures();
      console.log(`control: ${JSON.stringify(control)}`);
      // Raw holds the re-sent samples twice only until their parts merge (the sample
      // policy keeps one row per series and timestamp), so the rollups carry the control.
      assert.equal(
        control.counted - expected,
        PER_REQUEST,
        "the re-sent request must be counted twice in rollup_1m",
      );
      await Promise.all(b.map((p) => p.stop()));
      await Promise.allSettled(running);
    } finally {
      for (const log of logs) await log.close();
    }
  });
}
