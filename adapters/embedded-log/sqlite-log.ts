/**
 * The embedded command log: topics, partitions and consumer-group offsets in one SQLite
 * file (WAL). Appends made in the same tick share one transaction (group commit,
 * `group-commit.ts`), so a burst of small HTTP batches costs one fsync, not one each.
 *
 * Records are stored as record batches, like Kafka's: one row per partition per commit
 * (split at the row limits in `record-rows.ts`) holding the keys as a JSON array, the
 * value end positions and the concatenated values. The per-row cost of node:sqlite
 * (about 1 µs) would otherwise cap small-record throughput well below 1M/s; offsets stay
 * dense per record.
 *
 * @example
 * const log = openSqliteLog({ path: "data/log.sqlite" });
 * await log.ensureTopic("metrics.samples", 16);
 * await log.append("metrics.samples", [{ partition: 0, key: "ab12", value }], { idempotencyKey: "req-1" });
 */
import type { DatabaseSync } from "node:sqlite";
import { Unavailable, ValidationError } from "../../domain/errors.ts";
import type {
  AppendOptions,
  AppendResult,
  CommandLog,
  ConsumeOptions,
  LogRecord,
  OutgoingRecord,
  PartitionOffsets,
  RecordBatch,
} from "../../domain/ports/command-log.ts";
import { AppendWaiters } from "./append-waiters.ts";
import { GroupCommit } from "./group-commit.ts";
import { PartitionCatalog } from "./partition-catalog.ts";
import { assertRecordShape, readRecords } from "./record-rows.ts";
import { type LogStatements, openLogDatabase, prepareStatements } from "./sqlite-schema.ts";
import { type ConsumerSource, consumeTopic } from "./topic-consumer.ts";

export interface SqliteLogOptions {
  readonly path: string;
  /** "full": an append resolves after fsync (survives power loss); "normal": survives a crash only. */
  readonly sync?: "full" | "normal";
  readonly idempotencyWindowMs?: number;
  readonly retentionMs?: number;
  readonly now?: () => number;
  /** How often a waiting consumer looks for records appended by another process. */
  readonly pollIntervalMs?: number;
  /**
   * A channel name shared by the connections to this file within the process (the log
   * opened again in a Worker): an append through any of them wakes the consumers of all.
   */
  readonly peers?: string;
  readonly pruneIntervalMs?: number;
  /**
   * Whether this connection applies retention (default true). Another connection of the
   * process to the same file (a Worker's) leaves it to the first, so its thread never
   * waits for the write lock to prune.
   */
  readonly prunes?: boolean;
  /** A consumer batch stops growing past this many value bytes, so 1 MB records stay bounded. */
  readonly maxBatchBytes?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function openSqliteLog(options: SqliteLogOptions): SqliteCommandLog {
  return new SqliteCommandLog(options);
}

export class SqliteCommandLog implements CommandLog {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #idempotencyWindowMs: number;
  readonly #retentionMs: number;
  readonly #sql: LogStatements;
  readonly #catalog: PartitionCatalog;
  readonly #waiters: AppendWaiters;
  readonly #writes: GroupCommit;
  readonly #consumerSource: ConsumerSource;
  readonly #pruneTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #transactions = 0;

  constructor(options: SqliteLogOptions) {
    this.#now = options.now ?? Date.now;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DAY_MS;
    this.#retentionMs = options.retentionMs ?? DAY_MS;
    this.#waiters = new AppendWaiters(options.pollIntervalMs ?? 200, options.peers);
    this.#db = openLogDatabase(options.path, options.sync);
    this.#sql = prepareStatements(this.#db);
    this.#catalog = new PartitionCatalog(this.#sql);
    this.#writes = new GroupCommit({
      sql: this.#sql,
      catalog: this.#catalog,
      waiters: this.#waiters,
      now: this.#now,
      idempotencyWindowMs: this.#idempotencyWindowMs,
      transaction: (work) => this.#transaction(work),
    });
    this.#consumerSource = {
      sql: this.#sql,
      catalog: this.#catalog,
      waiters: this.#waiters,
      maxBatchBytes: options.maxBatchBytes ?? 64 * 1024 * 1024,
      assertOpen: (action) => this.#assertOpen(action),
      isClosed: () => this.#closed,
    };
    if (options.prunes ?? true) {
      this.prune();
      this.#pruneTimer = setInterval(() => this.prune(), options.pruneIntervalMs ?? 60_000);
      Deno.unrefTimer(this.#pruneTimer);
    }
  }

  /** Committed write transactions since open; group commit keeps this well below the append count. */
  get transactionCount(): number {
    return this.#transactions;
  }

  ensureTopic(topic: string, partitions: number): Promise<void> {
    return settled(() => {
      this.#assertOpen(`create topic "${topic}"`);
      if (!Number.isInteger(partitions) || partitions < 1) {
        throw new ValidationError(`Cannot create topic "${topic}": partitions must be a positive integer`);
      }
      this.#transaction(() => {
        this.#sql.insertTopic.run(topic, partitions);
        const existing = this.#sql.topicPartitions.get(topic) as { partitions: number };
        for (let p = 0; p < existing.partitions; p++) this.#sql.insertPartitionEnd.run(topic, p);
      });
    });
  }

  append(topic: string, records: readonly OutgoingRecord[], options?: AppendOptions): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#assertOpen(`append to topic "${topic}"`);
      for (const record of records) assertRecordShape(topic, record);
      this.#writes.enqueue({
        type: "append",
        topic,
        records,
        idempotencyKey: options?.idempotencyKey,
        settle: { resolve, reject },
      });
    });
  }

  commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#assertOpen(`commit group "${group}" on topic "${topic}"`);
      if (!Number.isInteger(nextOffset) || nextOffset < 0) {
        throw new ValidationError(
          `Cannot commit group "${group}": offset ${nextOffset} is not a non-negative integer`,
        );
      }
      this.#writes.enqueue({
        type: "commit",
        group,
        topic,
        partition,
        nextOffset,
        settle: { resolve, reject },
      });
    });
  }

  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    return settled(() => {
      this.#assertOpen(`read topic "${topic}"`);
      this.#catalog.assertPartition(`read topic "${topic}"`, topic, partition);
      return readRecords(this.#sql.readFrom, topic, partition, fromOffset, maxRecords, Infinity);
    });
  }

  consume(options: ConsumeOptions): AsyncIterable<RecordBatch> {
    return consumeTopic(this.#consumerSource, options);
  }

  offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    return settled(() => {
      this.#assertOpen(`read offsets of topic "${topic}"`);
      const partitions = this.#catalog.partitionCount(`read offsets of topic "${topic}"`, topic);
      const result: PartitionOffsets[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const end = this.#catalog.endOffset(topic, partition);
        const offsets = { partition, earliest: this.#catalog.earliestOffset(topic, partition, end), end };
        if (group === undefined) result.push(offsets);
        else result.push({ ...offsets, committed: this.#catalog.committed(group, topic, partition) });
      }
      return result;
    });
  }

  /**
   * Deletes records appended before the retention period and idempotency keys older than
   * their window. A partition is cut at its first record still inside retention, so the
   * earliest offset only moves forward.
   */
  prune(): { records: number; keys: number } {
    if (this.#closed) return { records: 0, keys: 0 };
    const now = this.#now();
    let records = 0;
    let keys = 0;
    this.#transaction(() => {
      const ends = this.#sql.allPartitionEnds.all() as {
        topic: string;
        partition: number;
        next_offset: number;
      }[];
      for (const { topic, partition, next_offset: end } of ends) {
        const earliest = this.#catalog.earliestOffset(topic, partition, end);
        const kept = this.#sql.firstRetained.get(topic, partition, now - this.#retentionMs) as
          | { base_offset: number }
          | undefined;
        const cut = kept?.base_offset ?? end;
        if (cut <= earliest) continue;
        this.#sql.deleteBefore.run(topic, partition, cut);
        records += cut - earliest;
      }
      keys = Number(this.#sql.deleteKeysBefore.run(now - this.#idempotencyWindowMs).changes);
    });
    return { records, keys };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#writes.flushNow();
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    this.#waiters.wakeAll();
    this.#waiters.close();
    this.#db.close();
    return Promise.resolve();
  }

  #transaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
      this.#transactions++;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new Unavailable(`Cannot ${action}: the command log is closed`);
  }
}

/** Runs synchronous work so that its errors reject the promise instead of throwing at the call. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
