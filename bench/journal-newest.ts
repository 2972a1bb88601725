/**
 * What finding each partition's newest journaled plan costs as the journal grows: the
 * rollup compactor asks for it every round, and `projection_progress` keeps 7 days of
 * plans, each with its watermark states. `--plans` plans per partition (4 partitions, 2
 * consumers) with states of `--state-bytes` bytes each, written into an embedded chDB;
 * then `PlanJournal.newest()` beside the statement it replaced (the states of every plan
 * read to pick the newest one's), interleaved, median wall ms of `--runs`.
 *
 * `deno run -A bench/journal-newest.ts [--plans 20000,100000] [--state-bytes 400] [--runs 15]`
 */
import { join } from "node:path";
import { openClickHouseStore } from "../adapters/clickhouse/clickhouse-store.ts";
import { PlanJournal } from "../adapters/plan-journal.ts";
import { ensureSchema } from "../read-models/schema.ts";
import { argValue, workDir } from "./proc.ts";

const args = Deno.args;
const PLANS = (argValue(args, "--plans") ?? "20000,100000").split(",").map(Number);
const STATE_BYTES = Number(argValue(args, "--state-bytes") ?? 400);
const RUNS = Number(argValue(args, "--runs") ?? 15);
const PARTITIONS = 4;

/** The statement `newest()` ran before: every plan's states read to pick the newest one's. */
const EVERY_STATE = `SELECT partition, max(last_offset) AS last, argMax(state_before, first_offset) AS before,
    argMax(state_after, first_offset) AS after
  FROM projection_progress WHERE consumer = {consumer:String} GROUP BY partition`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = await workDir("journal-newest-");
const store = openClickHouseStore({ path: join(dir, "chdb") });
try {
  await ensureSchema(store);
  const journal = new PlanJournal(store, "rollup");
  let written = 0;
  for (const plans of PLANS) {
    // Plans of 100 offsets each, per consumer and partition, states of random text.
    await store.command(
      `INSERT INTO projection_progress (consumer, partition, first_offset, last_offset, state_before, state_after, plan_now)
      SELECT arrayElement(['raw', 'rollup'], 1 + number % 2), intDiv(number, 2) % ${PARTITIONS},
        intDiv(number, ${2 * PARTITIONS}) * 100 AS first, first + 99,
        randomPrintableASCII(${STATE_BYTES}), randomPrintableASCII(${STATE_BYTES}), 0
      FROM numbers(${written * 2 * PARTITIONS}, ${(plans - written) * 2 * PARTITIONS})`,
    );
    written = plans;
    const expected = JSON.stringify(
      (await store.query<{ partition: number; last: string }>(EVERY_STATE, { consumer: "rollup" }))
        .map((r) => ({ ...r, partition: Number(r.partition), last: Number(r.last) }))
        .sort((a, b) => a.partition - b.partition),
    );
    const times = { newest: [] as number[], everyState: [] as number[] };
    for (let i = 0; i < RUNS + 2; i++) {
      let started = performance.now();
      const rows = await journal.newest();
      const newest = performance.now() - started;
      started = performance.now();
      await store.query(EVERY_STATE, { consumer: "rollup" });
      const everyState = performance.now() - started;
      if (i < 2) {
        const got = [...rows].sort((a, b) => a.partition - b.partition);
        if (JSON.stringify(got) !== expected) {
          throw new Error(
            `newest() and the earlier statement disagree: ${JSON.stringify(got).slice(0, 300)} against ${
              expected.slice(0, 300)
            }`,
          );
        }
        continue;
      }
      times.newest.push(newest);
      times.everyState.push(everyState);
    }
    console.log(
      `${plans} plans per partition (${plans * 2 * PARTITIONS} rows): newest() ${
        median(times.newest).toFixed(1)
      } ms, every plan's states read ${median(times.everyState).toFixed(1)} ms, ratio ${
        (median(times.everyState) / median(times.newest)).toFixed(1)
      }×`,
    );
  }
} finally {
  await store.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
Deno.exit(0);
