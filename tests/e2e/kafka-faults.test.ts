/**
 * Fault tests of the program on Kafka (`LOOKOUT_KAFKA_BROKERS`), each against a broker
 * of its own so it can be killed and paused: every sample that got a 202 is stored
 * exactly once in raw and in the 1m and 1h rollups (lost = 0, dup = 0), each with the
 * control of `probe-load.ts` showing the same figures do see a duplicate and a loss.
 *
 * - `kill -9` of the broker several times while four senders produce;
 * - the broker paused (SIGSTOP): ingest answers 503 with Retry-After, never 202, and
 *   resumes once the broker does.
 *
 * Set KAFKA_FAULT_SEED to replay a run's kill moments.
 */
import assert from "node:assert/strict";
import { KafkaProcess } from "../support/kafka-process.ts";
import { logCopies } from "../support/log-copies.ts";
import { kafkaAvailable } from "../support/kafka-broker.ts";
import {
  assertControl,
  assertExact,
  buildRequest,
  figures,
  KEY,
  MAX_REQUESTS,
  MINUTE,
  recordRequest,
  report,
  REQUEST_SPACING_MS,
  SenderPool,
  SENDERS,
  TENANTS,
} from "../support/probe-load.ts";
import { Program } from "../support/program.ts";
import { SampleLedger } from "../support/sample-ledger.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { waitFor } from "../support/wait-for.ts";

interface Load {
  readonly program: Program;
  readonly broker: KafkaProcess;
  readonly ledger: SampleLedger;
  readonly run: string;
  readonly base: number;
  readonly range: { from: number; to: number };
  acked(): number;
}

/** Starts a broker, the program on it and four senders; stops the senders, checks the figures. */
async function withLoad(run: string, body: (load: Load) => Promise<void>): Promise<void> {
  const broker = await KafkaProcess.start();
  const program = await Program.start({
    tenants: TENANTS,
    env: {
      LOOKOUT_KAFKA_BROKERS: broker.brokers,
      LOOKOUT_KAFKA_ACK_TIMEOUT_MS: "1500",
      LOOKOUT_QUERY_MAX_POINTS: "1000000",
    },
  }).catch((error) => {
    console.error(broker.output());
    throw error;
  });
  try {
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    const range = { from: base - MINUTE, to: base + MAX_REQUESTS * REQUEST_SPACING_MS + MINUTE };
    const ledger = new SampleLedger();
    const pool = new SenderPool(program, ledger, run, base);
    const acked = () => pool.acked();
    await body({ program, broker, ledger, run, base, range, acked });
    const last = acked() + 50;
    await waitFor(() => acked() >= last, 60_000, { what: `${last} acknowledged requests` });
    await pool.finish();
    await program.waitForProjected(90_000);
    console.log(`statuses ${JSON.stringify(pool.senders.map((s) => s.stats.statuses))}`);
    const result = await figures(program, ledger, range);
    report(run, result);
    if (result.raw.dup + result.oneMinute.dup + result.oneHour.dup > 0) {
      // Appended twice or projected twice: the log tells which, before the control adds its own.
      console.log(await logCopies(broker.brokers));
    }
    assertExact(result);
    await assertControl(program, ledger, run, base, range);
  } catch (error) {
    program.printOutput("test failed");
    console.error(`---- broker output ----\n${broker.output()}`);
    throw error;
  } finally {
    await program.dispose();
    await broker.dispose();
  }
}

if (kafkaAvailable) {
  Deno.test({
    name: "kafka: broker kill -9 while producing loses no acknowledged sample and stores none twice",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const seed = Number(Deno.env.get("KAFKA_FAULT_SEED") ?? Date.now() % 1_000_000);
      const random = seededRandom(seed);
      console.log(`seed ${seed} (KAFKA_FAULT_SEED=${seed} replays the kill moments)`);
      await withLoad(`kafka-kill-${seed}`, async ({ broker, acked }) => {
        for (let kill = 0; kill < 3; kill++) {
          const target = acked() + random.int(30, 120);
          await waitFor(() => acked() >= target, 60_000, { what: `${target} acknowledged requests` });
          await new Promise((resolve) => setTimeout(resolve, random.int(0, 40)));
          const killedAt = performance.now();
          await broker.kill9();
          const ackedAtKill = acked();
          await broker.restart();
          console.log(
            `broker kill -9 #${kill + 1} after ${ackedAtKill} acknowledged requests; ` +
              `restarted in ${(performance.now() - killedAt).toFixed(0)} ms`,
          );
        }
      });
    },
  });

  Deno.test({
    name: "kafka: broker paused answers 503 with Retry-After, never 202, and ingest resumes with it",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await withLoad("kafka-pause", async ({ program, broker, ledger, base, acked }) => {
        await waitFor(() => acked() >= 40, 60_000, { what: "40 acknowledged requests" });
        broker.pause();
        // A request the broker acknowledged just before the pause may still be answered.
        await new Promise((resolve) => setTimeout(resolve, 500));
        const ackedWhilePaused = acked();
        const probe = buildRequest("kafka-pause-probe", base, SENDERS + 2, 0);
        const started = performance.now();
        const res = await program.post("/v1/samples", probe.body, {
          key: KEY,
          headers: { "idempotency-key": probe.key },
        });
        recordRequest(ledger, base, probe, "unknown");
        console.log(`paused broker: ${res.status} after ${(performance.now() - started).toFixed(0)} ms`);
        assert.equal(res.status, 503, `a request the log could not take got ${res.status}`);
        assert.ok(Number(res.headers.get("retry-after")) >= 1, "503 without Retry-After");
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        assert.equal(acked(), ackedWhilePaused, "a request was answered 202 while the broker was paused");
        broker.resume();
        await waitFor(() => acked() > ackedWhilePaused + 20, 60_000, {
          what: "acknowledgements after resume",
        });
      });
    },
  });
}
