/**
 * Fault: a projector dies after its ClickHouse inserts and before its offset commit,
 * and restarts with a different batch size. The replay must land nothing twice and
 * lose nothing (lost = 0, dup = 0) in raw and in the 1m rollup. The control removes
 * the recorded batch plans before the restart and must see duplicates, which proves
 * the figures can catch them. Both run on the embedded log and on the real Kafka broker.
 *
 * Second fault: the log refuses the commits but the projector goes on (Kafka refuses a
 * member's commit while its group rebalances, and the member keeps its position), so
 * several plans lie past the committed offset when the partition moves to another
 * member; that member must apply all of them again exactly.
 */
import assert from "node:assert/strict";
import { openSqliteLog } from "../../adapters/embedded-log/sqlite-log.ts";
import { Projector } from "../../adapters/projector.ts";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import type { CommandLog } from "../../domain/ports/command-log.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { rawProjection } from "../../projections/raw.ts";
import { rollupProjection } from "../../projections/rollup.ts";
import { openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";
import { KAFKA_BROKERS, kafkaAvailable } from "../support/kafka-broker.ts";
import { waitFor } from "../support/wait-for.ts";

const SERIES = 20;
const REQUESTS = 30;
const PER_REQUEST = 100;

/** A log whose commits after the first `commits` are answered by `later` and do nothing. */
function commitsUntil(log: CommandLog, commits: number, later: () => Promise<void>): CommandLog {
  let left = commits;
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === "commit") {
        return (...args: Parameters<CommandLog["commit"]>) => left-- > 0 ? target.commit(...args) : later();
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Commits stop answering after `commits` of them: the process "died" there. */
const dyingAfter = (log: CommandLog, commits: number) =>
  commitsUntil(log, commits, () => new Promise(() => {}));
/** Later commits are answered at once without committing, as Kafka refuses them in a rebalance. */
const refusingAfter = (log: CommandLog, commits: number) =>
  commitsUntil(log, commits, () => Promise.resolve());

type Fault = "dies" | "commits refused";

interface ScenarioLog {
  readonly log: CommandLog;
  readonly topic: string;
  cleanup(): Promise<void>;
}

async function sqliteLog(): Promise<ScenarioLog> {
  const dir = await Deno.makeTempDir();
  const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
  return {
    log,
    topic: "metrics.samples",
    cleanup: async () => {
      await log.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function kafkaLog(): Promise<ScenarioLog> {
  const log = openKafkaLog({ brokers: KAFKA_BROKERS, clientId: "replay" });
  return Promise.resolve({ log, topic: uniqueName("replay.samples"), cleanup: () => log.close() });
}

async function scenario(
  openLog: () => Promise<ScenarioLog>,
  dropPlans: boolean,
  fault: Fault = "dies",
): Promise<{ lost: number; dup: number; rollupLost: number; rollupDup: number }> {
  const store = await sharedStore();
  const { log, topic: TOPIC, cleanup } = await openLog();
  await log.ensureTopic(TOPIC, 2);
  const tenant = uniqueName("replay");
  const names = { raw: uniqueName("raw"), rollup: uniqueName("rollup") };
  const base = Date.now() - 3_600_000;
  let n = 0;
  for (let r = 0; r < REQUESTS; r++) {
    const b = new SampleBatchBuilder(tenant);
    const index = Array.from({ length: SERIES }, (_, s) => {
      const labels = { s: String(s) };
      return b.addSeries({ id: seriesId(tenant, "m", labels), metric: "m", labels });
    });
    for (let i = 0; i < PER_REQUEST; i++, n++) b.addSample(index[n % SERIES], base + n * 100, n);
    await appendSamples({ log, topic: TOPIC, partitions: 2 }, b.build(), `r${r}`);
  }
  const projectors = (source: () => CommandLog, maxRecords: number) => [
    new Projector(rawProjection({ topic: TOPIC, name: names.raw }), source(), store, { maxRecords }),
    new Projector(rollupProjection({ topic: TOPIC, name: names.rollup }), source(), store, { maxRecords }),
  ];
  // First life: small batches; the 4th commit of each projector never happens, or
  // (commits refused) no commit after the 3rd takes effect while 8 batches are written.
  const first = projectors(() => fault === "dies" ? dyingAfter(log, 3) : refusingAfter(log, 3), 3);
  first.forEach((p) => p.start());
  const planned = fault === "dies" ? 4 : 8;
  for (const name of Object.values(names)) {
    await waitFor(
      async () => {
        const plans = await store.query<{ n: string }>(
          "SELECT count() AS n FROM projection_progress WHERE consumer = {c:String}",
          { c: name },
        );
        return Number(plans[0].n) >= planned;
      },
      60_000,
      { what: `${planned} batch plans of ${name}`, intervalMs: 20 },
    );
  }
  if (fault === "dies") {
    await new Promise((r) => setTimeout(r, 300)); // let the 4th batch's inserts land
    first.forEach((p) => void p.stop());
  } else await Promise.all(first.map((p) => p.stop()));
  if (dropPlans) {
    await store.command(
      "ALTER TABLE projection_progress DELETE WHERE consumer IN ({a:String}, {b:String}) SETTINGS mutations_sync = 1",
      { a: names.raw, b: names.rollup },
    );
  }
  // Second life: large batches, from the committed offsets.
  const second = projectors(() => log, 50);
  const running = second.map((p) => p.start());
  await waitFor(
    async () => {
      let behind = 0;
      for (const name of Object.values(names)) {
        for (const o of await log.offsets(TOPIC, name)) behind += o.end - (o.committed ?? 0);
      }
      return behind === 0;
    },
    60_000,
    { what: "both projections to commit every record", intervalMs: 20 },
  );
  await Promise.all(second.map((p) => p.stop()));
  await Promise.allSettled(running);
  await cleanup();

  const raw = await store.query<{ stored: string; distinct: string }>(
    `SELECT count() AS stored, uniqExact(series_id, ts) AS distinct FROM samples WHERE tenant = {t:String}`,
    { t: tenant },
  );
  const rollup = await store.query<{ counted: string }>(
    "SELECT sum(count) AS counted FROM rollup_1m WHERE tenant = {t:String}",
    { t: tenant },
  );
  const expected = REQUESTS * PER_REQUEST;
  const stored = Number(raw[0].stored);
  const distinct = Number(raw[0].distinct);
  const counted = Number(rollup[0].counted);
  return {
    lost: expected - distinct,
    dup: stored - distinct,
    rollupLost: Math.max(0, expected - counted),
    rollupDup: Math.max(0, counted - expected),
  };
}

for (const [name, openLog] of [["embedded log", sqliteLog], ["kafka", kafkaLog]] as const) {
  if (name === "kafka" && !kafkaAvailable) continue;
  Deno.test({
    name:
      `fault (${name}): projector dies between insert and commit; the replay is de-duplicated (lost = 0, dup = 0)`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const figures = await scenario(openLog, false);
    console.log(`replay with recorded plans: ${JSON.stringify(figures)}`);
    assert.deepEqual(figures, { lost: 0, dup: 0, rollupLost: 0, rollupDup: 0 });
  });

  Deno.test({
    name:
      `fault (${name}): commits refused for several batches; the next member applies every plan again exactly`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const figures = await scenario(openLog, false, "commits refused");
    console.log(`takeover after refused commits: ${JSON.stringify(figures)}`);
    assert.deepEqual(figures, { lost: 0, dup: 0, rollupLost: 0, rollupDup: 0 });
  });

  Deno.test({
    name:
      `fault control (${name}): without the recorded plans the same crash double-counts, and the figures show it`,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const figures = await scenario(openLog, true);
    console.log(`replay without recorded plans: ${JSON.stringify(figures)}`);
    assert.equal(figures.lost, 0);
    // Raw rows written twice carry the same version and collapse when their parts merge
    // (the sample policy), so only the rollups show the double count for certain.
    assert.ok(figures.rollupDup > 0, "rollup double counts must be visible");
  });
}
