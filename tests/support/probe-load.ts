/**
 * The load generator of the fault tests: senders whose every sample has an identity, the
 * figures read back from raw and the 1m/1h rollups (see `SampleLedger`), the assertions
 * that lost and dup are 0, and the control that proves those figures can see a
 * duplicate and a loss.
 *
 * Sender s owns series `crash_probe{sender=s,shard=j}`, and request n of sender s carries
 * samples at `base + n·100 ms + k·4 ms` with the value `s·10⁷ + n·100 + k`. A request
 * that fails (connection refused or reset, or a 503) is retried with the same
 * Idempotency-Key until it gets a 202 by even senders, as a client would, and abandoned
 * by odd ones: an abandoned request is "unknown" and may be stored once or not at all,
 * never twice.
 *
 * @example
 * const senders = Array.from({ length: SENDERS }, (_, s) => new Sender(program, ledger, run, base, s));
 * // … faults …
 * assertExact(await figures(program, ledger, range));
 * await assertControl(program, ledger, run, base, range);
 */
import assert from "node:assert/strict";
import type { Program, QueryReply } from "./program.ts";
import type { RawFigures, RollupFigures, SampleLedger, StoredCounts } from "./sample-ledger.ts";
import { waitFor } from "./wait-for.ts";

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const SENDERS = 4;
export const SHARDS = 4;
export const SAMPLES_PER_SERIES = 20;
export const REQUEST_SPACING_MS = 100;
const SAMPLE_SPACING_MS = 4;
/** Bounds the event-time span (MAX_REQUESTS · 100 ms), far inside the 5 min allowed lateness. */
export const MAX_REQUESTS = 1500;
export const TENANTS = { acme: "acme-crash-key-3e9d0a" };
export const KEY = TENANTS.acme;
export const METRIC = "crash_probe";

export interface Request {
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

export function buildRequest(run: string, base: number, sender: number, seq: number): Request {
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

export function recordRequest(
  ledger: SampleLedger,
  base: number,
  req: Request,
  outcome: "acked" | "unknown",
): void {
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
export class Sender {
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

export interface Figures {
  readonly raw: RawFigures;
  readonly oneMinute: RollupFigures;
  readonly oneHour: RollupFigures;
}

export async function figures(
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

export function report(label: string, f: Figures): void {
  const { presentUnacked: _, ...raw } = f.raw;
  console.log(`${label} raw: ${JSON.stringify(raw)}`);
  console.log(`${label} rollup_1m: ${JSON.stringify(f.oneMinute)}`);
  console.log(`${label} rollup_1h: ${JSON.stringify(f.oneHour)}`);
}

/** lost = 0 and dup = 0 in raw and both rollup tiers, and nothing stored that was not sent. */
export function assertExact(result: Figures): void {
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
}

/**
 * Control: one batch sent again under a second key is a second write of the same
 * samples. Raw keeps one row per series and timestamp (the sample policy), so it shows
 * no duplicate; the rollups, which count a repeat from a later batch again, must show
 * the batch as duplicates. A sample marked acknowledged but never sent must show up as
 * lost.
 */
export async function assertControl(
  program: Program,
  ledger: SampleLedger,
  run: string,
  base: number,
  range: { from: number; to: number },
): Promise<void> {
  const control = buildRequest(`${run}-control`, base, SENDERS, 0);
  for (const key of [control.key, control.key + "-again"]) {
    const res = await program.post("/v1/samples", control.body, {
      key: KEY,
      headers: { "idempotency-key": key },
    });
    assert.equal(res.status, 202);
    // Projected apart: a repeat in the same batch would be counted once by the rollups too.
    await program.waitForProjected(30_000);
  }
  recordRequest(ledger, base, control, "acked");
  ledger.record(`${SENDERS + 1}/0`, base, -1, "acked");
  await program.waitForProjected(30_000);
  const controlled = await figures(program, ledger, range);
  report("control", controlled);
  const batch = SHARDS * SAMPLES_PER_SERIES;
  assert.equal(controlled.raw.dup, 0, "raw keeps the control's re-sent samples once");
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
}

/** `SENDERS` senders running until `finish`; even ones then retry for up to `giveUpMs`. */
export class SenderPool {
  readonly senders: Sender[];
  readonly #running: Promise<void>[];
  #stopping = false;
  #giveUpAt = Infinity;

  constructor(program: Program, ledger: SampleLedger, run: string, base: number) {
    this.senders = Array.from({ length: SENDERS }, (_, s) => new Sender(program, ledger, run, base, s));
    this.#running = this.senders.map((s) => s.sendUntil(() => this.#stopping, () => this.#giveUpAt));
  }

  acked(): number {
    return this.senders.reduce((n, s) => n + s.stats.acked, 0);
  }

  async finish(giveUpMs = 20_000): Promise<void> {
    this.#stopping = true;
    this.#giveUpAt = performance.now() + giveUpMs;
    await Promise.all(this.#running);
  }
}
