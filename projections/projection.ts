/**
 * A projection turns batches of log records into writes for the analytics store.
 *
 * `plan` is deterministic: the same records, state and `now` give the same writes and
 * the same next state. The projector relies on that to replay a batch after a crash
 * with the same deduplication tokens, so ClickHouse drops what already landed.
 *
 * @example
 * const planned = projection.plan(batch, state, Date.now());
 * // write planned.writes, then commit batch.nextOffset
 */
import type { BlockInsert, ColumnBlock } from "../domain/ports/analytics-store.ts";
import type { LogRecord, RecordBatch } from "../domain/ports/command-log.ts";

export type ProjectionWrite =
  | { readonly kind: "block"; readonly block: ColumnBlock; readonly inserts: readonly BlockInsert[] }
  | {
    readonly kind: "rows";
    readonly table: string;
    readonly rows: readonly Record<string, unknown>[];
    readonly deduplicationToken?: string;
  };

export interface DeadLetter {
  readonly record: LogRecord;
  readonly reason: string;
}

/** What a projection counts per batch, for self-monitoring. */
export interface BatchCounters {
  readonly samples: number;
  readonly lateByTenant: ReadonlyMap<string, number>;
}

export interface PlannedBatch<S> {
  readonly writes: readonly ProjectionWrite[];
  readonly deadLetters: readonly DeadLetter[];
  readonly state: S;
  readonly counters: BatchCounters;
  /**
   * Runs once the store has acknowledged every write of the batch, before its offset is
   * committed (also when a recorded plan is applied again): in-process read models that
   * must never show what the store does not have take the batch here.
   */
  readonly stored?: () => void;
}

export interface Projection<S> {
  /** Also the consumer group. */
  readonly name: string;
  readonly topic: string;
  initialState(): S;
  encodeState(state: S): string;
  decodeState(text: string): S;
  plan(batch: RecordBatch, state: S, now: number): PlannedBatch<S>;
  /** Moves time-driven state (an idle partition's watermark) forward between batches. */
  tick(state: S, now: number): S;
}

/**
 * Where a projection writes each of its tables: the live name by default, a shadow
 * name while a rebuild replays the log beside the live tables.
 */
export type TableNames = (table: string) => string;

export const liveTables: TableNames = (table) => table;

/** The deduplication token of one table's insert for one batch. */
export function batchToken(projection: string, batch: RecordBatch, table: string): string {
  return `${projection}:${batch.topic}:${batch.partition}:${batch.firstOffset}-${batch.lastOffset}:${table}`;
}
