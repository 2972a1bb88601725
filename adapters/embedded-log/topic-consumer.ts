/**
 * A consumer group's fetch loop over one topic of the embedded log. It takes partitions
 * round-robin, one batch at a time, so a busy partition cannot starve the others, and
 * waits for an append when every partition is caught up.
 *
 * @example
 * for await (const batch of consumeTopic(source, { group: "raw", topic: "metrics.samples" })) {
 *   await sink(batch);
 * }
 */
import { ValidationError } from "../../domain/errors.ts";
import type { ConsumeOptions, RecordBatch } from "../../domain/ports/command-log.ts";
import type { AppendWaiters } from "./append-waiters.ts";
import type { PartitionCatalog } from "./partition-catalog.ts";
import { readRecords } from "./record-rows.ts";
import type { LogStatements } from "./sqlite-schema.ts";

/** The parts of an open log a consumer reads from. */
export interface ConsumerSource {
  readonly sql: LogStatements;
  readonly catalog: PartitionCatalog;
  readonly waiters: AppendWaiters;
  /** A batch stops growing past this many value bytes. */
  readonly maxBatchBytes: number;
  /** Throws when the log is closed; `action` names what could not be done. */
  assertOpen(action: string): void;
  isClosed(): boolean;
}

export async function* consumeTopic(
  source: ConsumerSource,
  options: ConsumeOptions,
): AsyncGenerator<RecordBatch> {
  const { group, topic, startAt, signal } = options;
  const maxRecords = options.maxRecords ?? 1000;
  source.assertOpen(`consume topic "${topic}"`);
  if (!Number.isInteger(maxRecords) || maxRecords < 1) {
    throw new ValidationError(`Cannot consume topic "${topic}": maxRecords must be a positive integer`);
  }
  const partitions = source.catalog.partitionCount(`consume topic "${topic}" for group "${group}"`, topic);
  // The fetch position lives in memory, as in Kafka: records already yielded are not
  // delivered again in this session even before the group commits them.
  const positions: number[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const committed = source.catalog.committed(group, topic, partition);
    positions.push(startAt?.(partition, committed) ?? committed ?? 0);
  }
  let nextPartition = 0;
  while (!signal?.aborted && !source.isClosed()) {
    const batch = nextBatch(source, topic, positions, nextPartition, maxRecords);
    if (batch === undefined) {
      await source.waiters.wait(topic, signal);
      continue;
    }
    positions[batch.partition] = batch.lastOffset + 1;
    nextPartition = (batch.partition + 1) % partitions;
    yield batch;
  }
}

function nextBatch(
  source: ConsumerSource,
  topic: string,
  positions: number[],
  first: number,
  max: number,
): RecordBatch | undefined {
  for (let i = 0; i < positions.length; i++) {
    const partition = (first + i) % positions.length;
    const from = positions[partition];
    const records = readRecords(source.sql.readFrom, topic, partition, from, max, source.maxBatchBytes);
    if (records.length === 0) continue;
    const firstOffset = records[0].offset;
    const lastOffset = records[records.length - 1].offset;
    return { topic, partition, records, firstOffset, lastOffset, nextOffset: lastOffset + 1 };
  }
  return undefined;
}
