/**
 * Reads one partition from any retained offset through `@platformatic/kafka`, without
 * joining a consumer group: the port's `read` (replays, the idempotency keys topic) and
 * the fetches of the group consumer. The client's own `fetch` is read committed and
 * already drops the records of aborted transactions; what is left here is what
 * `PartitionReader` does for kafkajs: drop the head of a batch that starts before the
 * asked offset, skip transaction markers, and keep fetching until `maxRecords` or the
 * partition's last stable offset.
 */
import type { Consumer } from "@platformatic/kafka";
import type { LogRecord } from "../../domain/ports/command-log.ts";
import { aligned } from "./partition-reader.ts";

/** A control batch (transaction marker): takes offsets, carries no record. */
const IS_CONTROL = 0x20;
const textDecoder = new TextDecoder();

type FetchResponsePartition = Awaited<
  ReturnType<Consumer["fetch"]>
>["responses"][number]["partitions"][number];

/** The records of one fetch and the offset the next fetch starts at. */
export interface FetchedRange {
  readonly records: LogRecord[];
  readonly next: number;
  /** Whether `next` reached what a read-committed consumer can see. */
  readonly atEnd: boolean;
}

export class PlatformaticReader {
  constructor(private readonly consumer: Consumer, private readonly fetchBytes = 8 * 1024 * 1024) {}

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    let offset = Math.max(0, fromOffset);
    while (records.length < maxRecords) {
      const range = await this.fetch(topic, partition, offset, 0);
      for (const record of range.records) {
        records.push(record);
        if (records.length === maxRecords) return records;
      }
      if (range.next <= offset || range.atEnd) break;
      offset = range.next;
    }
    return records;
  }

  /** One fetch from `offset`. */
  async fetch(topic: string, partition: number, offset: number, maxWaitMs: number): Promise<FetchedRange> {
    const ranges = await this.fetchMany(topic, new Map([[partition, offset]]), maxWaitMs);
    return ranges.get(partition) ?? { records: [], next: offset, atEnd: true };
  }

  /**
   * One fetch per partition leader for the partitions at the given offsets, waiting up to
   * `maxWaitMs` for records when none has any (the group consumer's long poll).
   */
  async fetchMany(
    topic: string,
    positions: ReadonlyMap<number, number>,
    maxWaitMs: number,
  ): Promise<Map<number, FetchedRange>> {
    const metadata = await this.consumer.metadata({ topics: [topic] });
    const about = metadata.topics.get(topic);
    const byLeader = new Map<number, number[]>();
    for (const partition of positions.keys()) {
      const leader = about?.partitions[partition]?.leader;
      if (about === undefined || leader === undefined) {
        throw new Error(`Cannot read partition ${partition} of topic "${topic}": no such partition`);
      }
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
    }
    const ranges = new Map<number, FetchedRange>();
    await Promise.all([...byLeader].map(async ([node, partitions]) => {
      const response = await this.consumer.fetch({
        node,
        maxWaitTime: maxWaitMs,
        minBytes: maxWaitMs > 0 ? 1 : 0,
        maxBytes: this.fetchBytes,
        topics: [{
          topicId: about!.id,
          partitions: partitions.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(positions.get(partition)!),
            lastFetchedEpoch: -1,
            partitionMaxBytes: this.fetchBytes,
          })),
        }],
      });
      for (const fetched of response.responses[0]?.partitions ?? []) {
        const partition = fetched.partitionIndex;
        const offset = positions.get(partition)!;
        ranges.set(
          partition,
          fetched.errorCode === OFFSET_OUT_OF_RANGE && offset < Number(fetched.logStartOffset)
            ? { records: [], next: Number(fetched.logStartOffset), atEnd: false }
            : toRange(topic, partition, offset, fetched),
        );
      }
    }));
    return ranges;
  }
}

const OFFSET_OUT_OF_RANGE = 1;

function toRange(
  topic: string,
  partition: number,
  from: number,
  fetched: FetchResponsePartition,
): FetchedRange {
  const records: LogRecord[] = [];
  let next = from;
  for (const batch of fetched.records ?? []) {
    const first = Number(batch.firstOffset);
    next = Math.max(next, first + batch.lastOffsetDelta + 1);
    if (batch.attributes & IS_CONTROL) continue;
    const timestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = first + record.offsetDelta;
      if (offset < from) continue;
      records.push({
        topic,
        partition,
        offset,
        timestamp: timestamp + Number(record.timestampDelta),
        key: record.key ? textDecoder.decode(record.key) : "",
        value: aligned(record.value),
      });
    }
  }
  const stable = Number(fetched.lastStableOffset);
  return { records, next, atEnd: next >= (stable >= 0 ? stable : Number(fetched.highWatermark)) };
}
