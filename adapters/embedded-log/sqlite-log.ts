/**
 * The embedded command log: topics, partitions and consumer-group offsets in one SQLite
 * file (WAL). Appends made in the same tick share one transaction (group commit), so a
 * burst of small HTTP batches costs one fsync, not one each.
 *
 * Records are stored as record batches, like Kafka's: one row per partition per commit
 * (split at `MAX_ROW_RECORDS` / `MAX_ROW_BYTES`) holding the keys as a JSON array, the
 * value end positions and the concatenated values. The per-row cost of node:sqlite
 * (about 1 µs) would otherwise cap small-record throughput well below 1M/s; offsets stay
 * dense per record.
 *
 * @example
 * const log = openSqliteLog({ path: "data/log.sqlite" });
 * await log.ensureTopic("metrics.samples", 16);
 * await log.append("metrics.samples", [{ partition: 0, key: "ab12", value }], { idempotencyKey: "req-1" });
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { clearImmediate, setImmediate } from "node:timers";
import { NotFound, Unavailable, ValidationError } from "../../domain/errors.ts";
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

export interface SqliteLogOptions {
  readonly path: string;
  /** "full": an append resolves after fsync (survives power loss); "normal": survives a crash only. */
  readonly sync?: "full" | "normal";
  readonly idempotencyWindowMs?: number;
  readonly retentionMs?: number;
  readonly now?: () => number;
  /** How often a waiting consumer looks for records appended by another process. */
  readonly pollIntervalMs?: number;
  readonly pruneIntervalMs?: number;
  /** A consumer batch stops growing past this many value bytes, so 1 MB records stay bounded. */
  readonly maxBatchBytes?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Kept at the default consumer batch size so a consumer rarely decodes a row it only partly needs. */
const MAX_ROW_RECORDS = 1000;
const MAX_ROW_BYTES = 4 * 1024 * 1024;
/** Well under SQLite's 1 GB blob limit, which would otherwise fail a whole group commit. */
const MAX_VALUE_BYTES = 256 * 1024 * 1024;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS partition_ends (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
  -- A rowid table, not WITHOUT ROWID keyed by offset: new rows land on the rightmost page
  -- instead of splitting pages mid-tree, which measured 1.3-2.5x faster appends.
  CREATE TABLE IF NOT EXISTS record_batches (
    id INTEGER PRIMARY KEY, topic TEXT NOT NULL, partition INTEGER NOT NULL, base_offset INTEGER NOT NULL,
    timestamp INTEGER NOT NULL, record_keys TEXT NOT NULL, value_ends BLOB NOT NULL, value_bytes BLOB NOT NULL);
  CREATE UNIQUE INDEX IF NOT EXISTS record_batches_by_offset ON record_batches (topic, partition, base_offset);
  CREATE TABLE IF NOT EXISTS group_offsets (
    "group" TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY ("group", topic, partition)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idempotency_keys (
    topic TEXT NOT NULL, key TEXT NOT NULL, appended_at INTEGER NOT NULL,
    PRIMARY KEY (topic, key)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (appended_at);
`;

type PendingWrite =
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

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

type Row = unknown[];
type StagedRecords = Map<string, Map<number, OutgoingRecord[]>>;

export function openSqliteLog(options: SqliteLogOptions): SqliteCommandLog {
  return new SqliteCommandLog(options);
}

export class SqliteCommandLog implements CommandLog {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #idempotencyWindowMs: number;
  readonly #retentionMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxBatchBytes: number;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #partitionCounts = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #pruneTimer: ReturnType<typeof setInterval>;
  #queue: PendingWrite[] = [];
  #flushHandle: ReturnType<typeof setImmediate> | undefined;
  #closed = false;
  #transactions = 0;

  constructor(options: SqliteLogOptions) {
    this.#now = options.now ?? Date.now;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DAY_MS;
    this.#retentionMs = options.retentionMs ?? DAY_MS;
    this.#pollIntervalMs = options.pollIntervalMs ?? 200;
    this.#maxBatchBytes = options.maxBatchBytes ?? 64 * 1024 * 1024;
    this.#db = new DatabaseSync(options.path);
    // 64 KB pages measured faster than 4–16 KB for 200 KB records (fewer overflow pages),
    // at some cost for tiny commits; page_size only applies to a new file.
    this.#db.exec("PRAGMA page_size = 65536");
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${options.sync === "normal" ? "NORMAL" : "FULL"}`);
    this.#db.exec("PRAGMA busy_timeout = 5000");
    this.#db.exec("PRAGMA cache_size = -65536");
    this.#db.exec("PRAGMA journal_size_limit = 67108864");
    this.#db.exec(SCHEMA);
    this.#sql = prepareStatements(this.#db);
    this.prune();
    this.#pruneTimer = setInterval(() => this.prune(), options.pruneIntervalMs ?? 60_000);
    Deno.unrefTimer(this.#pruneTimer);
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
      this.#enqueue({
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
      this.#enqueue({ type: "commit", group, topic, partition, nextOffset, settle: { resolve, reject } });
    });
  }

  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    return settled(() => {
      this.#assertOpen(`read topic "${topic}"`);
      this.#assertPartition(`read topic "${topic}"`, topic, partition);
      return this.#readRecords(topic, partition, fromOffset, maxRecords, Infinity);
    });
  }

  consume(options: ConsumeOptions): AsyncIterable<RecordBatch> {
    return this.#consume(options);
  }

  offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    return settled(() => {
      this.#assertOpen(`read offsets of topic "${topic}"`);
      const partitions = this.#partitionCount(`read offsets of topic "${topic}"`, topic);
      const result: PartitionOffsets[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const end = this.#endOffset(topic, partition);
        const offsets = { partition, earliest: this.#earliestOffset(topic, partition, end), end };
        if (group === undefined) result.push(offsets);
        else result.push({ ...offsets, committed: this.#committed(group, topic, partition) });
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
        const earliest = this.#earliestOffset(topic, partition, end);
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
    if (this.#flushHandle !== undefined) clearImmediate(this.#flushHandle);
    this.#flush();
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    for (const waiters of this.#waiters.values()) for (const wake of [...waiters]) wake();
    this.#db.close();
    return Promise.resolve();
  }

  async *#consume(options: ConsumeOptions): AsyncGenerator<RecordBatch> {
    const { group, topic, startAt, signal } = options;
    const maxRecords = options.maxRecords ?? 1000;
    this.#assertOpen(`consume topic "${topic}"`);
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new ValidationError(`Cannot consume topic "${topic}": maxRecords must be a positive integer`);
    }
    const partitions = this.#partitionCount(`consume topic "${topic}" for group "${group}"`, topic);
    // The fetch position lives in memory, as in Kafka: records already yielded are not
    // delivered again in this session even before the group commits them.
    const positions: number[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      const committed = this.#committed(group, topic, partition);
      positions.push(startAt?.(partition, committed) ?? committed ?? 0);
    }
    let nextPartition = 0;
    while (!signal?.aborted && !this.#closed) {
      const batch = this.#nextBatch(topic, positions, nextPartition, maxRecords);
      if (batch === undefined) {
        await this.#waitForAppend(topic, signal);
        continue;
      }
      positions[batch.partition] = batch.lastOffset + 1;
      nextPartition = (batch.partition + 1) % partitions;
      yield batch;
    }
  }

  #nextBatch(topic: string, positions: number[], first: number, max: number): RecordBatch | undefined {
    for (let i = 0; i < positions.length; i++) {
      const partition = (first + i) % positions.length;
      const records = this.#readRecords(topic, partition, positions[partition], max, this.#maxBatchBytes);
      if (records.length === 0) continue;
      const firstOffset = records[0].offset;
      const lastOffset = records[records.length - 1].offset;
      return { topic, partition, records, firstOffset, lastOffset };
    }
    return undefined;
  }

  /** Decodes records from `from` on; values are views into the row's value bytes, not copies. */
  #readRecords(topic: string, partition: number, from: number, max: number, maxBytes: number): LogRecord[] {
    const records: LogRecord[] = [];
    if (max <= 0) return records;
    let bytes = 0;
    for (const row of this.#sql.readFrom.iterate(topic, partition, from) as unknown as Iterable<Row>) {
      const [baseOffset, timestamp, keysJson, endsBlob, data] = row as [
        number,
        number,
        string,
        Uint8Array,
        Uint8Array,
      ];
      const keys = JSON.parse(keysJson) as string[];
      const ends = new DataView(endsBlob.buffer, endsBlob.byteOffset, endsBlob.byteLength);
      let index = Math.max(0, from - baseOffset);
      let start = index === 0 ? 0 : ends.getUint32((index - 1) * 4, true);
      for (; index < keys.length; index++) {
        const end = ends.getUint32(index * 4, true);
        const value = data.subarray(start, end);
        records.push({ topic, partition, offset: baseOffset + index, key: keys[index], value, timestamp });
        bytes += end - start;
        start = end;
        if (records.length >= max || bytes >= maxBytes) return records;
      }
    }
    return records;
  }

  #waitForAppend(topic: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(topic);
      if (waiters === undefined) this.#waiters.set(topic, waiters = new Set());
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.#pollIntervalMs);
      signal?.addEventListener("abort", wake, { once: true });
      waiters.add(wake);
    });
  }

  #enqueue(write: PendingWrite): void {
    this.#queue.push(write);
    this.#flushHandle ??= setImmediate(() => this.#flush());
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
    for (const topic of staged.keys()) {
      for (const wake of [...this.#waiters.get(topic) ?? []]) wake();
    }
  }

  #apply(write: PendingWrite, now: number, staged: StagedRecords): () => void {
    switch (write.type) {
      case "append": {
        const result = this.#stageAppend(write.topic, write.records, write.idempotencyKey, now, staged);
        return () => write.settle.resolve(result);
      }
      case "commit": {
        this.#assertPartition(`commit group "${write.group}"`, write.topic, write.partition);
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
    this.#partitionCount(action, topic);
    for (const record of records) this.#assertPartition(action, topic, record.partition);
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
        let offset = this.#endOffset(topic, partition);
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

  #endOffset(topic: string, partition: number): number {
    return (this.#sql.partitionEnd.get(topic, partition) as { next_offset: number }).next_offset;
  }

  #earliestOffset(topic: string, partition: number, end: number): number {
    const row = this.#sql.earliestOffset.get(topic, partition) as { earliest: number | null };
    return row.earliest ?? end;
  }

  #committed(group: string, topic: string, partition: number): number | undefined {
    const row = this.#sql.groupOffset.get(group, topic, partition) as { next_offset: number } | undefined;
    return row?.next_offset;
  }

  #partitionCount(action: string, topic: string): number {
    let count = this.#partitionCounts.get(topic);
    if (count === undefined) {
      // Another process may have created the topic since we last looked, so misses are not cached.
      const row = this.#sql.topicPartitions.get(topic) as { partitions: number } | undefined;
      if (row === undefined) throw new NotFound(`Cannot ${action}: topic "${topic}" does not exist`);
      this.#partitionCounts.set(topic, count = row.partitions);
    }
    return count;
  }

  #assertPartition(action: string, topic: string, partition: number): void {
    const count = this.#partitionCount(action, topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw new ValidationError(
        `Cannot ${action}: partition ${partition} is outside the topic's partitions 0..${count - 1}`,
      );
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

/** Encodes records from `first` on, up to the row limits, into the record_batches columns. */
function encodeRow(records: readonly OutgoingRecord[], first: number) {
  let last = first;
  let bytes = 0;
  while (
    last < records.length && last - first < MAX_ROW_RECORDS &&
    (last === first || bytes + records[last].value.byteLength <= MAX_ROW_BYTES)
  ) {
    bytes += records[last].value.byteLength;
    last++;
  }
  const count = last - first;
  const keys = new Array<string>(count);
  const ends = new Uint8Array(count * 4);
  const endsView = new DataView(ends.buffer);
  const data = new Uint8Array(bytes);
  let position = 0;
  for (let i = 0; i < count; i++) {
    const record = records[first + i];
    keys[i] = record.key;
    data.set(record.value, position);
    position += record.value.byteLength;
    endsView.setUint32(i * 4, position, true);
  }
  return { count, keys: JSON.stringify(keys), ends, data };
}

function assertRecordShape(topic: string, record: OutgoingRecord): void {
  if (typeof record.key !== "string" || !(record.value instanceof Uint8Array)) {
    throw new ValidationError(
      `Cannot append to topic "${topic}": a record needs a string key and a Uint8Array value`,
    );
  }
  if (record.value.byteLength > MAX_VALUE_BYTES) {
    throw new ValidationError(
      `Cannot append to topic "${topic}": a value of ${record.value.byteLength} bytes exceeds ${MAX_VALUE_BYTES}`,
    );
  }
}

function prepareStatements(db: DatabaseSync) {
  const arrays = (statement: StatementSync) => {
    statement.setReturnArrays(true);
    return statement;
  };
  return {
    insertTopic: db.prepare("INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)"),
    topicPartitions: db.prepare("SELECT partitions FROM topics WHERE name = ?"),
    insertPartitionEnd: db.prepare(
      "INSERT OR IGNORE INTO partition_ends (topic, partition, next_offset) VALUES (?, ?, 0)",
    ),
    partitionEnd: db.prepare("SELECT next_offset FROM partition_ends WHERE topic = ? AND partition = ?"),
    setPartitionEnd: db.prepare(
      "UPDATE partition_ends SET next_offset = ? WHERE topic = ? AND partition = ?",
    ),
    allPartitionEnds: db.prepare("SELECT topic, partition, next_offset FROM partition_ends"),
    insertRow: db.prepare(
      `INSERT INTO record_batches (topic, partition, base_offset, timestamp, record_keys, value_ends, value_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Starts at the row holding `from` (or the earliest row when `from` was pruned).
    readFrom: arrays(db.prepare(
      `SELECT base_offset, timestamp, record_keys, value_ends, value_bytes FROM record_batches
       WHERE topic = ?1 AND partition = ?2 AND base_offset >= coalesce(
         (SELECT max(base_offset) FROM record_batches WHERE topic = ?1 AND partition = ?2 AND base_offset <= ?3), 0)
       ORDER BY base_offset`,
    )),
    earliestOffset: db.prepare(
      `SELECT min(base_offset) AS earliest FROM record_batches WHERE topic = ? AND partition = ?`,
    ),
    firstRetained: db.prepare(
      `SELECT base_offset FROM record_batches WHERE topic = ? AND partition = ? AND timestamp >= ?
       ORDER BY base_offset LIMIT 1`,
    ),
    deleteBefore: db.prepare(
      `DELETE FROM record_batches WHERE topic = ? AND partition = ? AND base_offset < ?`,
    ),
    groupOffset: db.prepare(
      `SELECT next_offset FROM group_offsets WHERE "group" = ? AND topic = ? AND partition = ?`,
    ),
    upsertGroupOffset: db.prepare(
      `INSERT INTO group_offsets ("group", topic, partition, next_offset) VALUES (?, ?, ?, ?)
       ON CONFLICT ("group", topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
    ),
    keyAppendedAt: db.prepare("SELECT appended_at FROM idempotency_keys WHERE topic = ? AND key = ?"),
    upsertKey: db.prepare(
      `INSERT INTO idempotency_keys (topic, key, appended_at) VALUES (?, ?, ?)
       ON CONFLICT (topic, key) DO UPDATE SET appended_at = excluded.appended_at`,
    ),
    deleteKeysBefore: db.prepare("DELETE FROM idempotency_keys WHERE appended_at <= ?"),
  };
}
