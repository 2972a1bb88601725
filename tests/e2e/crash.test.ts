/**
 * Crash test: `kill -9` the program several times during sustained ingest from
 * concurrent senders; after the last restart, every sample that got a 202 is queryable
 * exactly once, in raw and in the 1m and 1h rollups (lost = 0, dup = 0).
 *
 * Each sample has an identity: sender s owns series `crash_probe{sender=s,shard=j}`, and
 * request n of sender s carries samples at `base + n·100 ms + k·4 ms` with the value
 * `s·10⁷ + n·100 + k`. A request that fails (connection refused or reset by the kill) is
 * retried with the same Idempotency-Key until it gets a 202 by even senders, as a client
 * would, and abandoned by odd ones: an abandoned request is "unknown" and may be stored
 * once or not at all, never twice.
 *
 * The control re-sends one batch under a second key, a genuine second request, and the
 * same figures must then count exactly that batch as duplicates; a sample recorded as
 * acknowledged but never sent must count as lost.
 *
 * Set CRASH_SEED to replay a run's kill moments.
 */
import assert from "node:assert/strict";
import { metricValues } from "../support/prometheus-text.ts";
import { Program, type QueryReply } from "../support/program.ts";
import {
  type RawFigures,
  type RollupFigures,
  SampleLedger,
  type StoredCounts,
} from "../support/sample-ledger.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { waitFor } from "../support/wait-for.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const SENDERS = 4;
const SHARDS = 4;
const SAMPLES_PER_SERIES = 20;
const REQUEST_SPACING_MS = 100;
const SAMPLE_SPACING_MS = 4;
/** Bounds the event-time span (MAX_REQUESTS · 100 ms), far inside the 5 min allowed lateness. */
const MAX_REQUESTS = 1500;
const CRASHES = 3;
const TENANTS = { acme: "acme-crash-key-3e9d0a" };
const KEY = TENANTS.acme;
const METRIC = "crash_probe";

interface Request {
  readonly sender: number;
  readonly seq: number;
  readonly key: string;
  readonly body: string;
}

function sampleTs(base: number, seq: number, k: number): number {
  return base + seq * REQUEST_SPACING_MS + k * SAMPLE_SPACING_MS;
}

function sampleValue(sender: number, seq: number, k: number): number {
  return sender * 10_000_000 + seq * 100 + k;
}

function buildRequest(run: string, base: number, sender: number, seq: number): Request {
  const timestamps = Array.from({ length: SAMPLES_PER_SERIES }, (_, k) => sampleTs(base, seq, k));
  const values = Array.from({ length: SAMPLES_PER_SERIES }, (_, k) => sampleValue(sender, seq, k));
  const series = Array.from({ length: SHARDS }, (_, j) => ({
    metric: METRIC,
    labels: { sender: String(sender), shard: String(j) },
    timestamps,
    values,
  }));
  return { sender, seq, key: `${run}-${sender}-${seq}`, body: JSON.stringify(series) };
}

function recordRequest(ledger: SampleLedger, base: number, req: Request, outcome: "acked" | "unknown"): void {
  for (let j = 0; j < SHARDS; j++) {
    for (let k = 0; k < SAMPLES_PER_SERIES; k++) {
      ledger.record(
        `${req.sender}/${j}`,
        sampleTs(base, req.seq, k),
        sampleValue(req.sender, req.seq, k),
        outcome,
      );
    }
  }
}

interface SenderStats {
  acked: number;
  unknown: number;
  retried: number;
  failures: number;
  statuses: Record<string, number>;
}

/**
 * Sends requests one after another. An even sender retries a failed request with its key
 * until it gets a 202 or `giveUpAt` passes; an odd one abandons it at once.
 */
class Sender {
  readonly stats: SenderStats = { acked: 0, unknown: 0, retried: 0, failures: 0, statuses: {} };
  #seq = 0;

  constructor(
    private readonly program: Program,
    private readonly ledger: SampleLedger,
    private readonly run: string,
    private readonly base: number,
    readonly id: number,
  ) {}

  async sendUntil(shouldStop: () => boolean, giveUpAt: () => number): Promise<void> {
    const retries = this.id % 2 === 0;
    while (!shouldStop() && this.#seq < MAX_REQUESTS) {
      const req = buildRequest(this.run, this.base, this.id, this.#seq++);
      const acked = await this.#deliver(req, retries ? giveUpAt : () => -Infinity);
      recordRequest(this.ledger, this.base, req, acked ? "acked" : "unknown");
      if (acked) this.stats.acked++;
      else this.stats.unknown++;
    }
  }

  /** After abandoning a request, waits for the program before sending the next one. */
  async #waitUntilUp(): Promise<void> {
    await waitFor(
      async () => {
        const res = await fetch(`${this.program.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status === 200;
      },
      60_000,
      { what: "the program to be up again", intervalMs: 20 },
    );
  }

  async #deliver(req: Request, giveUpAt: () => number): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      if (attempt === 1) this.stats.retried++;
      try {
        const res = await fetch(`${this.program.url}/v1/samples`, {
          method: "POST",
          headers: { "dd-api-key": KEY, "content-type": "application/json", "idempotency-key": req.key },
          body: req.body,
          signal: AbortSignal.timeout(15_000),
        });
        await res.body?.cancel();
        this.stats.statuses[res.status] = (this.stats.statuses[res.status] ?? 0) + 1;
        if (res.status === 202) return true;
      } catch {
        this.stats.failures++;
      }
      if (performance.now() > giveUpAt()) {
        await this.#waitUntilUp();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function counts(count: QueryReply, sum: QueryReply): StoredCounts {
  const sums = new Map<string, Map<number, number>>();
  const key = (labels: Record<string, string>) => `${labels.sender}/${labels.shard}`;
  for (const s of sum.series) sums.set(key(s.labels), new Map(s.points.map(([t, v]) => [t, v as number])));
  const out = new Map<string, [number, number, number][]>();
  for (const s of count.series) {
    const k = key(s.labels);
    assert.ok(!out.has(k), `series ${k} answered twice`);
    out.set(k, s.points.map(([t, v]) => [t, v as number, sums.get(k)?.get(t) ?? NaN]));
  }
  return out;
}

async function stored(
  program: Program,
  range: { from: number; to: number },
  resolution: string,
  step: number,
) {
  const q = { metric: METRIC, ...range, step, resolution };
  const [count, sum] = await Promise.all([
    program.query(KEY, { ...q, agg: "count" }),
    program.query(KEY, { ...q, agg: "sum" }),
  ]);
  return counts(count, sum);
}

interface Figures {
  readonly raw: RawFigures;
  readonly oneMinute: RollupFigures;
  readonly oneHour: RollupFigures;
}

async function figures(
  program: Program,
  ledger: SampleLedger,
  range: { from: number; to: number },
): Promise<Figures> {
  const raw = ledger.checkRaw(await stored(program, range, "raw", 1));
  const oneMinute = ledger.checkRollup(
    await stored(program, range, "1m", MINUTE),
    MINUTE,
    raw.presentUnacked,
  );
  const oneHour = ledger.checkRollup(await stored(program, range, "1h", HOUR), HOUR, raw.presentUnacked);
  return { raw, oneMinute, oneHour };
}

function report(label: string, f: Figures): void {
  const { presentUnacked: _, ...raw } = f.raw;
  console.log(`${label} raw: ${JSON.stringify(raw)}`);
  console.log(`${label} rollup_1m: ${JSON.stringify(f.oneMinute)}`);
  console.log(`${label} rollup_1h: ${JSON.stringify(f.oneHour)}`);
}

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
    let stopping = false;
    let giveUpAt = Infinity;
    const senders = Array.from({ length: SENDERS }, (_, s) => new Sender(program, ledger, run, base, s));
    const running = senders.map((s) => s.sendUntil(() => stopping, () => giveUpAt));
    const acked = () => senders.reduce((n, s) => n + s.stats.acked, 0);

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
    stopping = true;
    giveUpAt = performance.now() + 20_000;
    await Promise.all(running);
    const ingestDone = performance.now();

    await program.waitForProjected(75_000);
    const caughtUp = performance.now() - ingestDone;

    const stats = senders.map((s) => s.stats);
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
    assert.ok(result.raw.expected > 0, "nothing was acknowledged");
    assert.equal(result.raw.lost, 0, "raw: acknowledged samples missing");
    assert.equal(result.raw.dup, 0, "raw: samples stored more than once");
    assert.equal(result.raw.phantom, 0, "raw: samples stored that were never sent");
    assert.equal(result.raw.wrongValue, 0, "raw: samples stored with another value");
    for (const [tier, f] of [["rollup_1m", result.oneMinute], ["rollup_1h", result.oneHour]] as const) {
      assert.equal(f.lost, 0, `${tier}: samples missing`);
      assert.equal(f.dup, 0, `${tier}: samples counted more than once`);
      assert.equal(f.wrongSum, 0, `${tier}: buckets with the right count but the wrong sum`);
      assert.equal(f.stored, result.raw.distinct, `${tier}: total count differs from raw`);
    }
    const metrics = await program.metrics();
    assert.deepEqual(metricValues(metrics, "lookout_late_samples_total"), [], "no sample may be late here");

    // Control: one batch sent again under a second key is stored twice, and the figures
    // must say so; a sample marked acknowledged but never sent must show up as lost.
    const control = buildRequest(`${run}-control`, base, SENDERS, 0);
    for (const key of [control.key, control.key + "-again"]) {
      const res = await program.post("/v1/samples", control.body, {
        key: KEY,
        headers: { "idempotency-key": key },
      });
      assert.equal(res.status, 202);
    }
    recordRequest(ledger, base, control, "acked");
    ledger.record(`${SENDERS + 1}/0`, base, -1, "acked");
    await program.waitForProjected(30_000);
    const controlled = await figures(program, ledger, range);
    report("control", controlled);
    const batch = SHARDS * SAMPLES_PER_SERIES;
    assert.equal(controlled.raw.dup, batch, "the control's re-sent batch must count as duplicates in raw");
    assert.equal(
      controlled.oneMinute.dup,
      batch,
      "the control's re-sent batch must count as duplicates in rollup_1m",
    );
    assert.equal(
      controlled.oneHour.dup,
      batch,
      "the control's re-sent batch must count as duplicates in rollup_1h",
    );
    assert.equal(controlled.raw.lost, 1, "the sample never sent must count as lost in raw");
    assert.equal(controlled.oneMinute.lost, 1, "the sample never sent must count as lost in rollup_1m");
    assert.equal(controlled.oneHour.lost, 1, "the sample never sent must count as lost in rollup_1h");
    console.log(`total ${(performance.now() - began).toFixed(0)} ms`);
  } catch (error) {
    program.printOutput("test failed");
    throw error;
  } finally {
    await program.dispose();
  }
});
