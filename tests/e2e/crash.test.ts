/**
 * Crash test: `kill -9` the program several times during sustained ingest from
 * concurrent senders; after the last restart, every sample that got a 202 is queryable
 * exactly once, in raw and in the 1m and 1h rollups (lost = 0, dup = 0).
 *
 * Each sample has an identity (`tests/support/probe-load.ts`). The control re-sends one
 * batch under a second key, a genuine second request, and the same figures must then
 * count exactly that batch as duplicates; a sample recorded as acknowledged but never
 * sent must count as lost.
 *
 * Set CRASH_SEED to replay a run's kill moments.
 */
import assert from "node:assert/strict";
import { metricValues } from "../support/prometheus-text.ts";
import {
  assertControl,
  assertExact,
  figures,
  MAX_REQUESTS,
  MINUTE,
  report,
  REQUEST_SPACING_MS,
  SenderPool,
  TENANTS,
} from "../support/probe-load.ts";
import { Program } from "../support/program.ts";
import { SampleLedger } from "../support/sample-ledger.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { waitFor } from "../support/wait-for.ts";

const CRASHES = 3;

Deno.test("kill -9 during sustained ingest: every acknowledged sample stored exactly once", async () => {
  const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);
  const began = performance.now();
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
  const range = { from: base - MINUTE, to: base + MAX_REQUESTS * REQUEST_SPACING_MS + MINUTE };
  const run = `crash-${seed}`;
  console.log(`seed ${seed} (CRASH_SEED=${seed} replays the kill moments)`);

  const program = await Program.start({
    tenants: TENANTS,
    env: { LOOKOUT_QUERY_MAX_POINTS: "1000000" },
  });
  try {
    const ledger = new SampleLedger();
    const pool = new SenderPool(program, ledger, run, base);
    const acked = () => pool.acked();

    const recoveries: number[] = [];
    for (let crash = 0; crash < CRASHES; crash++) {
      const target = acked() + random.int(30, 150);
      await waitFor(() => acked() >= target, 30_000, { what: `${target} acknowledged requests` });
      // A random extra delay of 0–40 ms so the kill does not always land right after an ack.
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 40)));
      const lag = await program.projectionLag();
      const killedAt = performance.now();
      await program.kill9();
      console.log(
        `kill -9 #${crash + 1} after ${acked()} acknowledged requests, projection lag ${lag} records`,
      );
      await program.restart();
      recoveries.push(performance.now() - killedAt);
    }
    const last = acked() + random.int(30, 150);
    await waitFor(() => acked() >= last, 30_000, { what: `${last} acknowledged requests` });
    await pool.finish();
    const ingestDone = performance.now();

    await program.waitForProjected(75_000);
    const caughtUp = performance.now() - ingestDone;

    const stats = pool.senders.map((s) => s.stats);
    console.log(
      `ingest: ${acked()} requests acknowledged, ${stats.reduce((n, s) => n + s.unknown, 0)} unknown, ` +
        `${stats.reduce((n, s) => n + s.retried, 0)} retried after ${
          stats.reduce((n, s) => n + s.failures, 0)
        } ` +
        `failed attempts; statuses ${JSON.stringify(stats.map((s) => s.statuses))}`,
    );
    console.log(
      `recovery (kill → ready): ${recoveries.map((ms) => ms.toFixed(0)).join(", ")} ms; ` +
        `projections caught up ${caughtUp.toFixed(0)} ms after ingest ended`,
    );

    const result = await figures(program, ledger, range);
    report("after crashes", result);
    assertExact(result);
    const metrics = await program.metrics();
    assert.deepEqual(metricValues(metrics, "lookout_late_samples_total"), [], "no sample may be late here");

    await assertControl(program, ledger, run, base, range);
    console.log(`total ${(performance.now() - began).toFixed(0)} ms`);
  } catch (error) {
    program.printOutput("test failed");
    throw error;
  } finally {
    await program.dispose();
  }
});
