/**
 * The command log port: an append-only, partitioned log with consumer groups.
 * Implemented by the embedded log (node:sqlite, WAL) and by Kafka; one contract suite
 * (`tests/contract/command-log.contract.ts`) runs against both.
 *
 * Delivery is at-least-once: a consumer group resumes from its committed offset, and
 * a consumer commits only after its sink has acknowledged, so a crash replays the
 * records after the last commit.
 *
 * @example
 * await log.append("metrics.samples", [{ partition: 3, key: "00ab…", value }], { idempotencyKey });
 * for await (const batch of log.consume({ group: "raw", topic: "metrics.samples" })) {
 *   await sink(batch);
 *   await log.commit("raw", batch.topic, batch.partition, batch.nextOffset);
 * }
 */
export interface OutgoingRecord {
  readonly partition: number;
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * A record read back. Its `value` is a plain Uint8Array (not a Node Buffer: `slice`
 * copies) starting at an 8-byte-aligned offset of its buffer, so a decoder may view it
 * as `Uint32Array`/`Float64Array`.
 */
export interface LogRecord extends OutgoingRecord {
  readonly topic: string;
  readonly offset: number;
  /** Append time, ms since the epoch. */
  readonly timestamp: number;
}

export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
  readonly firstOffset: number;
  readonly lastOffset: number;
  /**
   * The offset to commit once the batch is processed: `lastOffset + 1`, or further when
   * offsets after the last record hold no record a consumer sees (Kafka's transaction
   * markers and aborted records), so a consumer that has caught up shows no lag. Offsets
   * increase within a partition but need not be dense.
   */
  readonly nextOffset: number;
}

export interface AppendOptions {
  /**
   * Records appended under a key already seen (within the log's idempotency window)
   * are not appended again; the call reports `duplicate: true`.
   */
  readonly idempotencyKey?: string;
}

export interface AppendResult {
  readonly duplicate: boolean;
}

export interface ConsumeOptions {
  readonly group: string;
  readonly topic: string;
  /** Most records in one batch. */
  readonly maxRecords?: number;
  /**
   * Where to start a partition instead of its committed offset, for replays. The
   * returned offset is the first one delivered, or undefined for the committed offset.
   */
  readonly startAt?: (partition: number, committed: number | undefined) => number | undefined;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** First offset still retained. */
  readonly earliest: number;
  /** Offset the next appended record will get. */
  readonly end: number;
  /** Next offset the group will read, when a group was asked about. */
  readonly committed?: number;
}

export interface CommandLog {
  /** Creates a topic if it is missing; a present topic keeps its partitions. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  /** Resolves once every record is durably in the log. */
  append(topic: string, records: readonly OutgoingRecord[], options?: AppendOptions): Promise<AppendResult>;
  /** Reads a partition from any retained offset (replay). */
  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]>;
  /** Batches for a consumer group, per partition, in offset order, until the signal aborts. */
  consume(options: ConsumeOptions): AsyncIterable<RecordBatch>;
  /** Records that the group has processed every offset before `nextOffset`. */
  commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void>;
  offsets(topic: string, group?: string): Promise<PartitionOffsets[]>;
  close(): Promise<void>;
}

/** The batch of a partition's consecutive records (at least one). */
export function recordBatch(
  topic: string,
  partition: number,
  records: readonly LogRecord[],
  nextOffset = records[records.length - 1].offset + 1,
): RecordBatch {
  return {
    topic,
    partition,
    records,
    firstOffset: records[0].offset,
    lastOffset: records[records.length - 1].offset,
    nextOffset,
  };
}
