/**
 * The projector's journal of batch plans in `projection_progress`: each batch's offset
 * range, the projection state before and after it, and the processing time it was
 * planned with, written before the batch's inserts. Replaying a journaled plan gives the
 * same writes with the same deduplication tokens, which is what makes a batch written
 * but not committed (a crash, a commit Kafka refused in a rebalance) land exactly once.
 *
 * @example
 * const journal = new PlanJournal(store, "raw");
 * await journal.record({ partition: 3, first: 100, last: 199, before, after, now });
 * const { previous, plans } = await journal.from(3, 100); // plans reaching offset 100, in order
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";

/** A journaled plan as read back (ClickHouse answers 64-bit integers as strings). */
export interface JournaledPlan {
  readonly first: string;
  readonly last: string;
  readonly before: string;
  readonly after: string;
  readonly planned_at: string;
}

export interface PlanEntry {
  readonly partition: number;
  readonly first: number;
  readonly last: number;
  readonly before: string;
  readonly after: string;
  readonly now: number;
}

const COLUMNS = `first_offset AS first, any(last_offset) AS last, any(state_before) AS before,
  any(state_after) AS after, any(plan_now) AS planned_at`;
const PARTITION = "consumer = {consumer:String} AND partition = {partition:UInt32}";

export class PlanJournal {
  constructor(private readonly store: AnalyticsStore, private readonly consumer: string) {}

  async record(entry: PlanEntry): Promise<void> {
    await this.store.insertRows("projection_progress", [{
      consumer: this.consumer,
      partition: entry.partition,
      first_offset: entry.first,
      last_offset: entry.last,
      state_before: entry.before,
      state_after: entry.after,
      plan_now: entry.now,
    }]);
  }

  /**
   * The plans of `partition` that end at or after `offset`, in offset order (a plan
   * journaled twice, by a retried write, once), and the last plan that ends before it.
   */
  async from(
    partition: number,
    offset: number,
  ): Promise<{ previous?: JournaledPlan; plans: JournaledPlan[] }> {
    const params = { consumer: this.consumer, partition, from: offset };
    const [plans, previous] = await Promise.all([
      this.store.query<JournaledPlan>(
        `SELECT ${COLUMNS} FROM projection_progress
        WHERE ${PARTITION} AND last_offset >= {from:UInt64} GROUP BY first_offset ORDER BY first_offset`,
        params,
      ),
      this.store.query<JournaledPlan>(
        `SELECT ${COLUMNS} FROM projection_progress
        WHERE ${PARTITION} AND last_offset < {from:UInt64} GROUP BY first_offset ORDER BY first_offset DESC LIMIT 1`,
        params,
      ),
    ]);
    return { previous: previous[0], plans };
  }

  /**
   * Per partition, its newest journaled plan: the last offset and the states before and
   * after it. The newest first offsets are found from the key columns alone, and only
   * their rows' states are read: the journal keeps days of plans, each with its states.
   */
  async newest(): Promise<{ partition: number; last: number; before: string; after: string }[]> {
    const rows = await this.store.query<{ partition: number; last: string; before: string; after: string }>(
      `SELECT partition, max(last_offset) AS last, any(state_before) AS before, any(state_after) AS after
      FROM projection_progress
      WHERE consumer = {consumer:String} AND (partition, first_offset) IN (
        SELECT partition, max(first_offset) FROM projection_progress
        WHERE consumer = {consumer:String} GROUP BY partition
      )
      GROUP BY partition`,
      { consumer: this.consumer },
    );
    return rows.map((row) => ({ ...row, partition: Number(row.partition), last: Number(row.last) }));
  }
}
