/**
 * Rebuilding read models on demand, with the real program: while senders keep ingesting,
 * `POST /v1/admin/rebuild {"model":"rollup"}` replays the log into shadow tables and swaps
 * them in; queries on the rollups are answered throughout, the rebuilt tables compare
 * equal with the live ones at the swap, and after ingest stops both rollup tiers equal
 * the oracle computed from every sample sent and the raw table (lost = 0, dup = 0).
 * `deno task rebuild raw` (the CLI) then rebuilds the raw table the same way. The same runs on
 * the embedded log and on a Kafka broker of the test's own.
 *
 * The control re-sends one batch under a second key: the same figures must count it as
 * duplicates, so a rebuild that replayed records twice could not pass unseen.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  assertControl,
  assertExact,
  figures,
  KEY,
  MAX_REQUESTS,
  METRIC,
  MINUTE,
  report,
  REQUEST_SPACING_MS,
  SenderPool,
  TENANTS,
} from "../support/probe-load.ts";
import { kafkaAvailable } from "../support/kafka-broker.ts";
import { KafkaProcess } from "../support/kafka-process.ts";
import { Program } from "../support/program.ts";
import { SampleLedger } from "../support/sample-ledger.ts";
import { waitFor } from "../support/wait-for.ts";

const TOKEN = "admin-token-5c1e7b90d2";
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Status {
  state: string;
  records: { done: number; total: number };
  passes: number;
  comparison?: { table: string; equal: boolean; live: unknown; rebuilt: unknown }[];
}

async function adminGet(program: Program): Promise<Status> {
  const res = await fetch(`${program.url}/v1/admin/rebuild`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as Status;
}

/** The whole scenario on one log; `log` adds the program's log settings, `warmup` requests come first. */
async function rebuildDuringIngest(log: Record<string, string>, warmup: number): Promise<void> {
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
  const range = { from: base - MINUTE, to: base + MAX_REQUESTS * REQUEST_SPACING_MS + MINUTE };
  const run = `rebuild-${Date.now() % 1_000_000}`;
  const program = await Program.start({
    tenants: TENANTS,
    env: {
      LOOKOUT_QUERY_MAX_POINTS: "1000000",
      LOOKOUT_ADMIN_TOKEN: TOKEN,
      // Small replay batches make the rebuild last long enough to query during it.
      LOOKOUT_REBUILD_BATCH_RECORDS: "100",
      ...log,
    },
  });
  try {
    const ledger = new SampleLedger();
    const pool = new SenderPool(program, ledger, run, base);
    await waitFor(() => pool.acked() >= warmup, 60_000, { what: `${warmup} acknowledged requests` });

    const admin = (body: unknown, authorization?: string) =>
      program.post("/v1/admin/rebuild", body, { headers: authorization ? { authorization } : {} });
    assert.equal((await admin({ model: "rollup" })).status, 401, "no token");
    assert.equal(
      (await admin({ model: "rollup" }, `Bearer ${KEY}`)).status,
      401,
      "a tenant's key is no admin token",
    );
    const bad = await admin({ model: "alerts" }, `Bearer ${TOKEN}`);
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /model/);

    const started = await admin({ model: "rollup" }, `Bearer ${TOKEN}`);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal((await admin({ model: "raw" }, `Bearer ${TOKEN}`)).status, 409, "one rebuild at a time");

    let answered = 0;
    const failures: string[] = [];
    const states = new Set<string>();
    let status = await adminGet(program);
    while (status.state === "replaying" || status.state === "swapping") {
      states.add(status.state);
      const q = await program.post("/v1/query", {
        metric: METRIC,
        agg: "count",
        from: range.from,
        to: range.to,
        step: MINUTE,
        resolution: "1m",
      }, { key: KEY });
      const series = (q.body as { series?: unknown[] }).series ?? [];
      if (q.status === 200 && series.length > 0) answered++;
      else failures.push(`${q.status} ${JSON.stringify(q.body).slice(0, 200)}`);
      status = await adminGet(program);
    }
    console.log(
      `rebuild: ${status.state} after ${status.passes} passes, ${status.records.done}/${status.records.total} records; ` +
        `${answered} rollup queries answered during it (states seen: ${[...states]})`,
    );
    assert.equal(status.state, "done", JSON.stringify(status));
    assert.deepEqual(failures, [], "every query during the rebuild is answered from the rollups");
    assert.ok(answered > 0, "queries ran while the rebuild was in progress");
    assert.ok(status.records.done >= warmup, `replayed ${status.records.done} records`);
    for (const c of status.comparison ?? []) {
      console.log(`  ${c.table}: live ${JSON.stringify(c.live)} rebuilt ${JSON.stringify(c.rebuilt)}`);
    }
    assert.deepEqual(status.comparison?.map((c) => [c.table, c.equal]), [
      ["rollup_1m", true],
      ["rollup_1h", true],
      ["late_samples", true],
    ]);

    const ackedAtSwap = pool.acked();
    await waitFor(() => pool.acked() >= ackedAtSwap + 50, 60_000, { what: "ingest going on after the swap" });
    await pool.finish();
    await program.waitForProjected(75_000);
    const afterRollup = await figures(program, ledger, range);
    report("after the rollup rebuild", afterRollup);
    assertExact(afterRollup);

    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "rebuild", "raw"],
      cwd: PROJECT_ROOT,
      env: { LOOKOUT_URL: program.url, LOOKOUT_ADMIN_TOKEN: TOKEN },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(cli.stderr);
    console.log(printed.trim());
    assert.equal(cli.code, 0, printed);
    assert.match(printed, /raw \[#{30}\] 100% \d+\/\d+ records, pass \d+, done/);
    assert.match(printed, /samples: equal/);
    assert.match(printed, /series: equal/);
    const afterRaw = await figures(program, ledger, range);
    report("after the raw rebuild", afterRaw);
    assertExact(afterRaw);

    await assertControl(program, ledger, run, base, range);
  } catch (error) {
    program.printOutput("rebuild test failed");
    throw error;
  } finally {
    await program.dispose();
  }
}

Deno.test(
  "embedded log: rollup rebuild during live ingest ends equal to raw and the oracle, queries answered throughout",
  () => rebuildDuringIngest({}, 300),
);

Deno.test({
  name:
    "Kafka: rollup rebuild during live ingest ends equal to raw and the oracle, queries answered throughout",
  ignore: !kafkaAvailable,
  async fn() {
    const broker = await KafkaProcess.start();
    try {
      await rebuildDuringIngest({ LOOKOUT_KAFKA_BROKERS: broker.brokers }, 150);
    } finally {
      await broker.dispose();
    }
  },
});
