/**
 * The head of recent raw samples: per tenant and series, the samples of the last
 * `minutes` in typed-array chunks (series-chunks.ts), so a PromQL selection over a
 * recent range is answered without a ClickHouse statement (each costs a few ms before
 * any work). Fed by the raw projection of the same process with each batch's samples
 * once the store has acknowledged them, in log order, so the head never holds a sample
 * the `samples` table does not, and of two samples of a series at one time it keeps the
 * one written last, as the table does.
 *
 * What the head covers, per tenant, is a range [from, ∞): every sample of the table at
 * or after `from` is held. It covers nothing until `open`, which takes per tenant the
 * time after the newest sample the table held before this head was fed (read at start,
 * before the raw projection consumes: those samples are not in the head). From then on
 * `from` is the latest of that time, the horizon (`minutes` before now, whole minutes)
 * and the floor the sample limit raised: past `maxSamples`, the oldest minutes are
 * dropped for every tenant and the floor moves past them.
 *
 * @example
 * const head = new RecentSamples({ minutes: 120, maxSamples: 20_000_000 });
 * head.open(new Map([["acme", newestBeforeStart]]));
 * head.append(block); // from the raw projection, after the insert
 * if (head.covers("acme", from)) head.series("acme", "42")?.count(from, to);
 */
import type { SampleBlock } from "../projections/sample-block.ts";
import { SeriesChunks } from "./series-chunks.ts";
import { seriesWordsToDecimal } from "../domain/series.ts";

const MINUTE_MS = 60_000;

export interface RecentSamplesOptions {
  /** Minutes of samples held before now. */
  readonly minutes: number;
  /** Samples held over all tenants; past it the oldest minutes go. */
  readonly maxSamples: number;
  readonly now?: () => number;
}

interface TenantHead {
  /** By the low word of the id; series sharing it are chained by `other`. */
  readonly byLow: Map<number, HeldSeries>;
  readonly byId: Map<string, HeldSeries>;
}

interface HeldSeries {
  readonly hi: number;
  readonly samples: SeriesChunks;
  other: HeldSeries | undefined;
}

export class RecentSamples {
  readonly #tenants = new Map<string, TenantHead>();
  /** Samples held per minute of their time, so the limit knows which minutes to drop. */
  readonly #perMinute = new Map<number, number>();
  readonly #minutes: number;
  readonly #maxSamples: number;
  readonly #now: () => number;
  /** Per tenant, the first time not in the table before the head was fed; undefined until opened. */
  #openedAfter: ReadonlyMap<string, number> | undefined;
  /** No sample before this is held (a whole minute). */
  #floor = -Infinity;
  #size = 0;

  constructor(options: RecentSamplesOptions) {
    this.#minutes = options.minutes;
    this.#maxSamples = options.maxSamples;
    this.#now = options.now ?? Date.now;
  }

  /** Samples held over all tenants. */
  get size(): number {
    return this.#size;
  }

  /** Starts covering: per tenant, the table held no sample at or after the given time before the head was fed. */
  open(firstUnheld: ReadonlyMap<string, number>): void {
    this.#openedAfter = firstUnheld;
  }

  /** Empties the head and covers nothing until `open` again (the table was replaced). */
  reset(): void {
    this.#tenants.clear();
    this.#perMinute.clear();
    this.#size = 0;
    this.#openedAfter = undefined;
  }

  /** The first time from which every sample of the tenant is held; +∞ while it covers nothing. */
  coveredFrom(tenant: string): number {
    if (this.#openedAfter === undefined) return Infinity;
    return Math.max(this.#floor, this.horizon(), this.#openedAfter.get(tenant) ?? -Infinity);
  }

  /** Whether every sample of the tenant after `from` is held. */
  covers(tenant: string, from: number): boolean {
    // Times are whole milliseconds: the first one after `from`.
    return Math.floor(from) + 1 >= this.coveredFrom(tenant);
  }

  /** The samples held of one series, by its id in decimal. */
  series(tenant: string, id: string): SeriesChunks | undefined {
    return this.#tenants.get(tenant)?.byId.get(id)?.samples;
  }

  /** Adds a stored batch's samples in their order (the log's), then applies the horizon and the limit. */
  append({ block, tenants }: SampleBlock): void {
    this.#advance(this.horizon());
    const [tenantIx, ids, ts, values] = block.columns.map((c) => c.data) as [
      Uint16Array,
      Uint32Array,
      Float64Array,
      Float64Array,
    ];
    const words = new Uint32Array(values.buffer, values.byteOffset, 2 * block.rows);
    const heads = tenants.map((tenant) => this.#tenant(tenant));
    const floor = this.#floor;
    const perMinute = this.#perMinute;
    for (let i = 0; i < block.rows; i++) {
      // The table stores whole milliseconds (`toInt64(ts)`).
      const t = Math.trunc(ts[i]);
      if (t < floor) continue;
      // The Prometheus stale marker by its bits, quiet bit ignored (values pass through numbers).
      const stale = words[2 * i] === 2 && (words[2 * i + 1] & 0xfff7ffff) === 0x7ff00000;
      if (!this.#held(heads[tenantIx[i]], ids[2 * i], ids[2 * i + 1]).add(t, values[i], stale)) continue;
      const minute = Math.floor(t / MINUTE_MS);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
      this.#size++;
    }
    if (this.#size > this.#maxSamples) this.#advance(this.#limitFloor());
  }

  #tenant(tenant: string): TenantHead {
    let head = this.#tenants.get(tenant);
    if (head === undefined) this.#tenants.set(tenant, head = { byLow: new Map(), byId: new Map() });
    return head;
  }

  #held(head: TenantHead, lo: number, hi: number): SeriesChunks {
    let s = head.byLow.get(lo);
    while (s !== undefined && s.hi !== hi) s = s.other;
    if (s !== undefined) return s.samples;
    const added: HeldSeries = { hi, samples: new SeriesChunks(), other: head.byLow.get(lo) };
    head.byLow.set(lo, added);
    head.byId.set(seriesWordsToDecimal(lo, hi), added);
    return added.samples;
  }

  /** The start of the oldest minute within the horizon. */
  horizon(): number {
    return (Math.floor(this.#now() / MINUTE_MS) - this.#minutes) * MINUTE_MS;
  }

  /** The first minute to keep so that at most `maxSamples` stay. */
  #limitFloor(): number {
    let over = this.#size - this.#maxSamples;
    for (const minute of [...this.#perMinute.keys()].sort((a, b) => a - b)) {
      over -= this.#perMinute.get(minute)!;
      if (over <= 0) return (minute + 1) * MINUTE_MS;
    }
    return Infinity;
  }

  /** Drops every sample before `floor` (when it is past the current floor). */
  #advance(floor: number): void {
    if (floor <= this.#floor) return;
    this.#floor = floor;
    const first = floor / MINUTE_MS;
    for (const [minute, n] of this.#perMinute) {
      if (minute >= first) continue;
      this.#perMinute.delete(minute);
      this.#size -= n;
    }
    for (const head of this.#tenants.values()) {
      for (const [lo, first] of head.byLow) {
        let kept: HeldSeries | undefined;
        for (let s: HeldSeries | undefined = first; s !== undefined; s = s.other) {
          s.samples.dropBefore(floor);
          if (s.samples.size > 0) kept = s;
        }
        if (kept === undefined) this.#forget(head, lo, first);
      }
    }
  }

  /** Forgets a chain of series of which none holds a sample any more. */
  #forget(head: TenantHead, lo: number, first: HeldSeries): void {
    head.byLow.delete(lo);
    for (let s: HeldSeries | undefined = first; s !== undefined; s = s.other) {
      head.byId.delete(seriesWordsToDecimal(lo, s.hi));
    }
  }
}
