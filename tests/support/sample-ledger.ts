/**
 * What a fault test sent and what it was told, sample by sample, and the figures it
 * reports from what the store holds afterwards:
 *
 * - raw: `lost = expected − stored` (acknowledged samples missing), `dup = stored −
 *   distinct` (rows beyond the first of a sample), plus `phantom` (rows of a sample that
 *   was never sent) and `wrongValue` (a row whose value is not the one sent);
 * - rollups: per series and bucket the count and sum expected from every sample that is
 *   present (acknowledged, or unacknowledged but found in raw), `lost` and `dup` being the
 *   missing and surplus counts.
 *
 * A sample's identity is its series and timestamp; every sample of a series has its own
 * timestamp. Unacknowledged samples (the request failed and was never confirmed) may be
 * stored or not, but never twice.
 *
 * @example
 * const ledger = new SampleLedger();
 * ledger.record("0/1", ts, value, "acked");
 * const raw = ledger.checkRaw(storedRaw);          // { lost: 0, dup: 0, ... }
 * const oneMinute = ledger.checkRollup(stored1m, 60_000, raw.presentUnacked);
 */
export type Outcome = "acked" | "unknown";

/** Per series: [timestamp or bucket start, count, sum] as the store answered. */
export type StoredCounts = ReadonlyMap<string, readonly (readonly [number, number, number])[]>;

export interface RawFigures {
  readonly expected: number;
  readonly stored: number;
  readonly distinct: number;
  readonly lost: number;
  readonly dup: number;
  readonly phantom: number;
  readonly wrongValue: number;
  readonly unackedStored: number;
  readonly unackedMissing: number;
  /** Unacknowledged samples found in raw, as `series@ts`. */
  readonly presentUnacked: ReadonlySet<string>;
}

export interface RollupFigures {
  readonly expected: number;
  readonly stored: number;
  readonly lost: number;
  readonly dup: number;
  /** Buckets whose count is right but whose sum is not. */
  readonly wrongSum: number;
}

interface Sent {
  readonly value: number;
  outcome: Outcome;
}

export class SampleLedger {
  readonly #series = new Map<string, Map<number, Sent>>();

  record(series: string, ts: number, value: number, outcome: Outcome): void {
    let samples = this.#series.get(series);
    if (!samples) this.#series.set(series, samples = new Map());
    const known = samples.get(ts);
    if (known && known.value !== value) {
      throw new Error(`Sample ${series}@${ts} recorded with two values (${known.value}, ${value})`);
    }
    if (known) {
      if (outcome === "acked") known.outcome = "acked";
      return;
    }
    samples.set(ts, { value, outcome });
  }

  count(outcome: Outcome): number {
    let n = 0;
    for (const samples of this.#series.values()) {
      for (const s of samples.values()) {
        n += s.outcome === outcome ? 1 : 0;
      }
    }
    return n;
  }

  checkRaw(stored: StoredCounts): RawFigures {
    let storedRows = 0;
    let distinct = 0;
    let phantom = 0;
    let wrongValue = 0;
    let ackedFound = 0;
    const presentUnacked = new Set<string>();
    for (const [series, points] of stored) {
      const sent = this.#series.get(series);
      for (const [ts, count, sum] of points) {
        storedRows += count;
        distinct++;
        const sample = sent?.get(ts);
        if (!sample) {
          phantom += count;
          continue;
        }
        if (sum !== sample.value * count) wrongValue++;
        if (sample.outcome === "acked") ackedFound++;
        else presentUnacked.add(`${series}@${ts}`);
      }
    }
    const expected = this.count("acked");
    const unacked = this.count("unknown");
    return {
      expected,
      stored: storedRows,
      distinct,
      lost: expected - ackedFound,
      dup: storedRows - distinct,
      phantom,
      wrongValue,
      unackedStored: presentUnacked.size,
      unackedMissing: unacked - presentUnacked.size,
      presentUnacked,
    };
  }

  checkRollup(stored: StoredCounts, widthMs: number, presentUnacked: ReadonlySet<string>): RollupFigures {
    const expectedBuckets = new Map<string, Map<number, { count: number; sum: number }>>();
    let expected = 0;
    for (const [series, samples] of this.#series) {
      const buckets = new Map<number, { count: number; sum: number }>();
      expectedBuckets.set(series, buckets);
      for (const [ts, sample] of samples) {
        if (sample.outcome !== "acked" && !presentUnacked.has(`${series}@${ts}`)) continue;
        const start = Math.floor(ts / widthMs) * widthMs;
        const b = buckets.get(start) ?? { count: 0, sum: 0 };
        b.count++;
        b.sum += sample.value;
        buckets.set(start, b);
        expected++;
      }
    }
    let storedCount = 0;
    let lost = 0;
    let dup = 0;
    let wrongSum = 0;
    const seen = new Set<string>();
    for (const [series, points] of stored) {
      for (const [bucket, count, sum] of points) {
        storedCount += count;
        seen.add(`${series}@${bucket}`);
        const want = expectedBuckets.get(series)?.get(bucket) ?? { count: 0, sum: 0 };
        if (count > want.count) dup += count - want.count;
        else lost += want.count - count;
        if (count === want.count && sum !== want.sum) wrongSum++;
      }
    }
    for (const [series, buckets] of expectedBuckets) {
      for (const [bucket, want] of buckets) if (!seen.has(`${series}@${bucket}`)) lost += want.count;
    }
    return { expected, stored: storedCount, lost, dup, wrongSum };
  }
}
