/**
 * Group commit for the embedded log: appends and offset commits made in the same tick wait
 * in a queue and are written in one transaction, so a burst of small HTTP batches costs one
 * fsync, not one each. A write that fails validation is rejected alone; any other failure
 * rolls the transaction back and rejects every write in it.
 *
 * @example
 * const writes = new GroupCommit({ sql, catalog, waiters, now, idempotencyWindowMs, transaction });
 * const result = await new Promise<AppendResult>((resolve, reject) =>
 *   writes.enqueue({ type: "append", topic, records, idempotencyKey, settle: { resolve, reject } })
 * );
 */
import { clearImmediate, setImmediate } from "node:timers";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { AppendResult, OutgoingRecord } from "../../domain/ports/command-log.ts";
import type { AppendWaiters } from "./append-waiters.ts";
import type { PartitionCatalog } from "./partition-catalog.ts";
import { encodeRow } from "./record-rows.ts";
import type { LogStatements } from "./sqlite-schema.ts";

export type PendingWrite =
  | {
    readonly type: "append";
    readonly topic: string;
    readonly records: readonly OutgoingRecord[];
    readonly idempotencyKey: string | undefined;
    readonly settle: Settle<AppendResult>;
  }
  | {
    readonly type: "commit";
    readonly group: string;
    readonly topic: string;
    readonly partition: number;
    readonly nextOffset: number;
    readonly settle: Settle<void>;
  };

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export interface GroupCommitOptions {
  readonly sql: LogStatements;
  readonly catalog: PartitionCatalog;
  /** Woken for every topic a group commit appended to. */
  readonly waiters: AppendWaiters;
  readonly now: () => number;
  readonly idempotencyWindowMs: number;
  /** Runs `work` in one write transaction, rolled back if it throws. */
  readonly transaction: (work: () => void) => void;
}

type StagedRecords = Map<string, Map<number, OutgoingRecord[]>>;

export class GroupCommit {
  readonly #sql: LogStatements;
  readonly #catalog: PartitionCatalog;
  readonly #waiters: AppendWaiters;
  readonly #now: () => number;
  readonly #idempotencyWindowMs: number;
  readonly #transaction: (work: () => void) => void;
  #queue: PendingWrite[] = [];
  #flushHandle: ReturnType<typeof setImmediate> | undefined;

  constructor(options: GroupCommitOptions) {
    this.#sql = options.sql;
    this.#catalog = options.catalog;
    this.#waiters = options.waiters;
    this.#now = options.now;
    this.#idempotencyWindowMs = options.idempotencyWindowMs;
    this.#transaction = options.transaction;
  }

  enqueue(write: PendingWrite): void {
    this.#queue.push(write);
    this.#flushHandle ??= setImmediate(() => this.#flush());
  }

  /** Writes the queue now rather than on the next tick, so closing the log loses no write. */
  flushNow(): void {
    if (this.#flushHandle !== undefined) clearImmediate(this.#flushHandle);
    this.#flush();
  }

  /** Writes every queued append and commit in one transaction, then settles their promises. */
  #flush(): void {
    this.#flushHandle = undefined;
    const writes = this.#queue;
    this.#queue = [];
    if (writes.length === 0) return;
    const settlements: (() => void)[] = [];
    const staged: StagedRecords = new Map();
    try {
      this.#transaction(() => {
        const now = this.#now();
        for (const write of writes) {
          try {
            settlements.push(this.#apply(write, now, staged));
          } catch (error) {
            if (!(error instanceof ValidationError || error instanceof NotFound)) throw error;
            settlements.push(() => write.settle.reject(error));
          }
        }
        this.#writeStaged(staged, now);
      });
    } catch (error) {
      for (const write of writes) write.settle.reject(error);
      return;
    }
    for (const settle of settlements) settle();
    for (const topic of staged.keys()) this.#waiters.wake(topic);
  }

  #apply(write: PendingWrite, now: number, staged: StagedRecords): () => void {
    switch (write.type) {
      case "append": {
        const result = this.#stageAppend(write.topic, write.records, write.idempotencyKey, now, staged);
        return () => write.settle.resolve(result);
      }
      case "commit": {
        this.#catalog.assertPartition(`commit group "${write.group}"`, write.topic, write.partition);
        this.#sql.upsertGroupOffset.run(write.group, write.topic, write.partition, write.nextOffset);
        return () => write.settle.resolve();
      }
      default: {
        const unknown: never = write;
        throw new Error(`Unknown pending write ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Validates every record before staging any, so a rejected append leaves no trace. */
  #stageAppend(
    topic: string,
    records: readonly OutgoingRecord[],
    idempotencyKey: string | undefined,
    now: number,
    staged: StagedRecords,
  ): AppendResult {
    const action = `append to topic "${topic}"`;
    this.#catalog.partitionCount(action, topic);
    for (const record of records) this.#catalog.assertPartition(action, topic, record.partition);
    if (idempotencyKey !== undefined) {
      const seen = this.#sql.keyAppendedAt.get(topic, idempotencyKey) as { appended_at: number } | undefined;
      if (seen !== undefined && seen.appended_at > now - this.#idempotencyWindowMs) {
        return { duplicate: true };
      }
      this.#sql.upsertKey.run(topic, idempotencyKey, now);
    }
    if (records.length === 0) return { duplicate: false };
    let partitions = staged.get(topic);
    if (partitions === undefined) staged.set(topic, partitions = new Map());
    for (const record of records) {
      let pending = partitions.get(record.partition);
      if (pending === undefined) partitions.set(record.partition, pending = []);
      pending.push(record);
    }
    return { duplicate: false };
  }

  /** One row per partition for everything this commit appends there, split only when large. */
  #writeStaged(staged: StagedRecords, now: number): void {
    for (const [topic, partitions] of staged) {
      for (const [partition, records] of partitions) {
        let offset = this.#catalog.endOffset(topic, partition);
        for (let first = 0; first < records.length;) {
          const row = encodeRow(records, first);
          this.#sql.insertRow.run(topic, partition, offset, now, row.keys, row.ends, row.data);
          offset += row.count;
          first += row.count;
        }
        this.#sql.setPartitionEnd.run(offset, topic, partition);
      }
    }
  }
}
