/**
 * Reads one partition from any retained offset, without a consumer group: the port's
 * `read`, which the projector uses to replay a recorded batch after a crash. It must
 * return every record of the asked range that is still retained, so it keeps fetching
 * until it has `maxRecords` or reaches the partition's end.
 *
 * Kafka answers a fetch with whole record batches, so the first batch may start before
 * the asked offset; those records are dropped here. Transaction markers (control
 * records) take offsets but carry no record and are skipped, and so are the records
 * of aborted transactions.
 */
import type { LogRecord } from "../../domain/ports/command-log.ts";
import { withoutAborted } from "./aborted-records.ts";
import { type FetchedMessage, type KafkaCluster, READ_COMMITTED } from "./kafka-cluster.ts";

export interface PartitionReaderOptions {
  /** Bytes asked for per fetch; a larger first batch is still returned whole. */
  readonly fetchBytes?: number;
}

const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

export class PartitionReader {
  constructor(
    private readonly cluster: KafkaCluster,
    private readonly options: PartitionReaderOptions = {},
  ) {}

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    let offset = Math.max(0, fromOffset);
    let leaderRetries = 0;
    while (records.length < maxRecords) {
      let fetched;
      try {
        fetched = await this.#fetch(topic, partition, offset);
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (type === "OFFSET_OUT_OF_RANGE") {
          const earliest = await this.#earliest(topic, partition);
          if (offset < earliest) {
            offset = earliest;
            continue;
          }
          break;
        }
        if (type === "NOT_LEADER_FOR_PARTITION" || type === "LEADER_NOT_AVAILABLE") {
          if (++leaderRetries > 5) throw error;
          await this.cluster.refreshMetadata();
          continue;
        }
        throw error;
      }
      let progressed = false;
      const kept = new Set(withoutAborted(fetched));
      for (const message of fetched.messages) {
        const at = Number(message.offset);
        if (at < offset) continue;
        offset = at + 1;
        progressed = true;
        if (message.isControlRecord || !kept.has(message)) continue;
        records.push(toLogRecord(topic, partition, message));
        if (records.length === maxRecords) break;
      }
      if (!progressed || offset >= Number(fetched.highWatermark)) break;
    }
    return records;
  }

  async #fetch(topic: string, partition: number, offset: number) {
    await this.cluster.addTargetTopic(topic);
    const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      throw new Error(`Cannot read partition ${partition} of topic "${topic}": no such partition`);
    }
    const broker = await this.cluster.findBroker({ nodeId });
    const maxBytes = this.options.fetchBytes ?? 8 * 1024 * 1024;
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 0,
      minBytes: 0,
      maxBytes,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
    });
    return response.responses[0].partitions[0];
  }

  async #earliest(topic: string, partition: number): Promise<number> {
    const [entry] = await this.cluster.fetchTopicsOffset([{
      topic,
      fromBeginning: true,
      partitions: [{ partition }],
    }]);
    return Number(entry.partitions[0].offset);
  }
}

/**
 * A plain, aligned Uint8Array over the value (see `LogRecord`): kafkajs hands out Node
 * Buffers, whose `slice` shares memory where a Uint8Array's copies, at any offset of the
 * response buffer, where typed-array views need alignment. An unaligned value is copied.
 */
export function aligned(value: Uint8Array | null): Uint8Array {
  if (!value) return EMPTY;
  if (value.byteOffset % 8 !== 0) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function toLogRecord(topic: string, partition: number, message: FetchedMessage): LogRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key ? textDecoder.decode(message.key) : "",
    value: aligned(message.value),
  };
}
