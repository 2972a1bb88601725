/**
 * Packs the 1h tier's closed hours (read-models/rollup-days.ts): every `intervalMs`, it
 * reads the rollup projection's watermarks from its journal, and for each tenant whose
 * closed hours reach past its packed-through mark (or its oldest bucket, the first
 * time), packs from the midnight of the mark's day (a day packed part-way is packed
 * again whole) to the first hour not closed, a month partition per statement, marking
 * each range once its rows are in. Any number of compactors may run (one per rollup
 * node): a range packed twice leaves the same rows.
 *
 * A read-model rebuild swaps in empty packed tables with the rebuilt tier; `pause` holds
 * a round so none writes into the tables being swapped.
 *
 * @example
 * const compactor = new RollupCompactor({ store, log, topic, consumer: "rollup", partitions: 8, intervalMs: 300_000, retentionDays: 730 });
 * void compactor.start();
 * await compactor.stop();
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import type { CommandLog } from "../domain/ports/command-log.ts";
import type { WatermarkState } from "../domain/watermark.ts";
import { rollupProjection } from "../projections/rollup.ts";
import {
  closedThrough,
  DAY_MS,
  FIRST_BUCKET_SQL,
  HOUR_MS,
  MARK_SQL,
  MARKS_SQL,
  PACK_SQL,
} from "../read-models/rollup-days.ts";
import { PlanJournal } from "./plan-journal.ts";
import { WakeableSleep } from "./wakeable-sleep.ts";

export interface RollupCompactorOptions {
  readonly store: AnalyticsStore;
  /** The rollup projector's consumer group, whose journal holds its watermarks. */
  readonly consumer: string;
  /** The log and samples topic the projector consumes, for the group's committed offsets. */
  readonly log: CommandLog;
  readonly topic: string;
  /** Partitions of the samples topic: a tenant's day is closed once closed in all of them. */
  readonly partitions: number;
  readonly intervalMs: number;
  /** Days of the 1h tier kept: packing goes no further back. */
  readonly retentionDays: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
  /** After each packed range, with the hours it packed for the first time, for telemetry. */
  readonly onPacked?: (tenant: string, hours: number) => void;
  /** After each mark written, with the hour (ms) the tenant is now packed through. */
  readonly onMarked?: (tenant: string, through: number) => void;
}

export class RollupCompactor {
  readonly #journal: PlanJournal;
  readonly #decode = rollupProjection().decodeState;
  readonly #sleep = new WakeableSleep();
  #stopped = false;
  #running?: Promise<void>;
  #round: Promise<unknown> = Promise.resolve();
  #held?: Promise<void>;
  #release = () => {};

  constructor(private readonly options: RollupCompactorOptions) {
    this.#journal = new PlanJournal(options.store, options.consumer);
  }

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleep.wake();
    this.resume();
    await this.#running;
  }

  /** Waits for a round in progress and holds the next until `resume`. */
  async pause(): Promise<void> {
    this.#held ??= new Promise((resolve) => (this.#release = resolve));
    await this.#round.catch(() => {});
  }

  resume(): void {
    this.#release();
    this.#held = undefined;
  }

  /** One round: packs every closed hour not packed yet; the number of tenant hours packed. */
  async compact(): Promise<number> {
    while (this.#held) await this.#held;
    const round = this.#compact();
    this.#round = round;
    return await round;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.compact();
      } catch (error) {
        this.options.onError?.(error);
      }
      if (!this.#stopped) await this.#sleep.for(this.options.intervalMs);
    }
  }

  async #compact(): Promise<number> {
    const { store, partitions, retentionDays } = this.options;
    const now = (this.options.now ?? Date.now)();
    // The newest plan's state after it once its batch is committed (its writes are in);
    // before it while it may still be on its way in.
    const [journaled, offsets] = await Promise.all([
      this.#journal.newest(),
      this.options.log.offsets(this.options.topic, this.options.consumer),
    ]);
    const committed = new Map(offsets.map((o) => [o.partition, o.committed ?? 0]));
    const states: ReadonlyMap<string, WatermarkState>[] = journaled
      .filter((j) => j.partition < partitions)
      .map((j) => this.#decode((committed.get(j.partition) ?? 0) > j.last ? j.after : j.before));
    const closed = closedThrough(states, partitions);
    if (closed.size === 0) return 0;
    const marks = new Map(
      (await store.query<{ tenant: string; through: string | number }>(MARKS_SQL))
        .map((row) => [row.tenant, Number(row.through)]),
    );
    const oldest = Math.floor((now - retentionDays * DAY_MS) / DAY_MS) * DAY_MS;
    let packed = 0;
    for (const [tenant, through] of closed) {
      const mark = marks.get(tenant);
      if (mark !== undefined && mark >= through) continue;
      let from = Math.max(midnight(mark ?? await this.#firstBucket(tenant, through)), oldest);
      while (from < through && !this.#stopped) {
        const to = Math.min(through, nextMonth(from));
        await store.command(PACK_SQL, { tenant, from, to });
        await store.command(MARK_SQL, { tenant, through: to });
        this.options.onMarked?.(tenant, to);
        const hours = (to - Math.max(from, mark ?? from)) / HOUR_MS;
        packed += hours;
        this.options.onPacked?.(tenant, hours);
        from = to;
      }
    }
    return packed;
  }

  /** A tenant not packed yet starts at its oldest bucket (or at `through`, having none). */
  async #firstBucket(tenant: string, through: number): Promise<number> {
    const [row] = await this.options.store.query<{ first: string | number | null }>(FIRST_BUCKET_SQL, {
      tenant,
    });
    return row?.first === null || row?.first === undefined ? through : Number(row.first);
  }
}

function midnight(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Midnight UTC of the first day of the month after the one `ms` falls in. */
function nextMonth(ms: number): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}
