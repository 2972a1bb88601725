/**
 * What the log knows about a topic's partitions: how many there are, and each partition's
 * end, earliest and committed offsets. Reads, appends, commits and retention all check
 * partitions here, so a missing topic or an out-of-range partition fails with the same
 * message whichever operation asked.
 *
 * @example
 * const catalog = new PartitionCatalog(sql);
 * catalog.assertPartition(`read topic "${topic}"`, topic, partition);
 * const end = catalog.endOffset(topic, partition);
 */
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { LogStatements } from "./sqlite-schema.ts";

export class PartitionCatalog {
  readonly #sql: LogStatements;
  readonly #partitionCounts = new Map<string, number>();

  constructor(sql: LogStatements) {
    this.#sql = sql;
  }

  /** The offset the next record appended to the partition gets. */
  endOffset(topic: string, partition: number): number {
    return (this.#sql.partitionEnd.get(topic, partition) as { next_offset: number }).next_offset;
  }

  /** The first retained offset, or `end` when retention has emptied the partition. */
  earliestOffset(topic: string, partition: number, end: number): number {
    const row = this.#sql.earliestOffset.get(topic, partition) as { earliest: number | null };
    return row.earliest ?? end;
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    const row = this.#sql.groupOffset.get(group, topic, partition) as { next_offset: number } | undefined;
    return row?.next_offset;
  }

  /** The topic's partition count; `action` names what fails when the topic does not exist. */
  partitionCount(action: string, topic: string): number {
    let count = this.#partitionCounts.get(topic);
    if (count === undefined) {
      // Another process may have created the topic since we last looked, so misses are not cached.
      const row = this.#sql.topicPartitions.get(topic) as { partitions: number } | undefined;
      if (row === undefined) throw new NotFound(`Cannot ${action}: topic "${topic}" does not exist`);
      this.#partitionCounts.set(topic, count = row.partitions);
    }
    return count;
  }

  assertPartition(action: string, topic: string, partition: number): void {
    const count = this.partitionCount(action, topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw new ValidationError(
        `Cannot ${action}: partition ${partition} is outside the topic's partitions 0..${count - 1}`,
      );
    }
  }
}
