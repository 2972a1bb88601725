/**
 * The command log on Kafka (kafkajs), for the distributed deployment. Port topics are
 * Kafka topics with the same names and partitions; a consumer group of the port is a
 * Kafka consumer group, so projector processes running the same projection share its
 * partitions. Records go through one idempotent producer with `acks=all`, batched per
 * request (`ProduceQueue`); idempotency keys live in a keys topic (`IdempotencyWindow`).
 *
 * @example
 * const log = openKafkaLog({ brokers: ["127.0.0.1:9092"], clientId: "lookout-ingest-1" });
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
import { Buffer } from "node:buffer";
import { type Admin, Kafka, logLevel, type Producer, type TopicMessages } from "kafkajs";
import { NotFound, ValidationError } from "../../domain/errors.ts";
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
import {
  consumeGroup,
  type GroupConsumerSettings,
  type GroupMember,
  type GroupMembers,
} from "./group-consumer.ts";
import { IdempotencyWindow } from "./idempotency-window.ts";
import { createCluster, type KafkaCluster } from "./kafka-cluster.ts";
import { PartitionReader } from "./partition-reader.ts";
import { ProduceQueue, type ProduceQueueOptions } from "./produce-queue.ts";
import { commitFromOutside } from "./offset-commit.ts";

export interface KafkaLogOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Replication of topics this log creates (1 for a single broker, 3 in production). */
  readonly replicationFactor?: number;
  /** Largest record batch a topic accepts (`max.message.bytes`). */
  readonly maxMessageBytes?: number;
  readonly idempotencyWindowMs?: number;
  /** Bytes asked for per fetch by `read` (replays and the keys topic). */
  readonly fetchBytes?: number;
  readonly keysTopic?: string;
  readonly produce?: Partial<ProduceQueueOptions>;
  readonly consumer?: Partial<GroupConsumerSettings>;
  readonly now?: () => number;
}

const HOUR_MS = 3_600_000;

export class KafkaCommandLog implements CommandLog {
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #producer: Producer;
  readonly #cluster: KafkaCluster;
  readonly #reader: PartitionReader;
  readonly #queue: ProduceQueue;
  readonly #keys: IdempotencyWindow;
  readonly #keysTopic: string;
  readonly #inflight = new Map<string, Promise<boolean>>();
  readonly #partitions = new Map<string, number>();
  readonly #members = new Map<string, Set<GroupMember>>();
  readonly #consumerSettings: GroupConsumerSettings;
  #connected?: Promise<void>;
  #closed = false;

  constructor(private readonly options: KafkaLogOptions) {
    this.#kafka = new Kafka({
      clientId: options.clientId ?? "lookout",
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    });
    this.#admin = this.#kafka.admin();
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.#cluster = createCluster(this.#kafka);
    this.#reader = new PartitionReader(this.#cluster, { fetchBytes: options.fetchBytes });
    this.#queue = new ProduceQueue(this.#producer, {
      maxPendingBytes: 64 * 1024 * 1024,
      ackTimeoutMs: 5_000,
      maxRequestBytes: 16 * 1024 * 1024,
      ...options.produce,
    });
    this.#keysTopic = options.keysTopic ?? "lookout.idempotency-keys";
    this.#keys = new IdempotencyWindow(this.#reader, {
      topic: this.#keysTopic,
      partitions: 4,
      windowMs: options.idempotencyWindowMs ?? HOUR_MS,
      now: options.now ?? Date.now,
    });
    this.#consumerSettings = {
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxWaitMs: 500,
      defaultMaxRecords: 1_000,
      ...options.consumer,
    };
  }

  /** Bytes of appends not yet acknowledged by the broker. */
  get pendingBytes(): number {
    return this.#queue.pendingBytes;
  }

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    await this.#connect();
    await this.#createTopic(topic, partitions, {});
    this.#partitions.delete(topic);
  }

  async append(
    topic: string,
    records: readonly OutgoingRecord[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    await this.#connect();
    const count = await this.#partitionCount(topic, "append");
    for (const record of records) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new ValidationError(
          `Cannot append to "${topic}": partition ${record.partition} is outside the topic's partitions 0..${
            count - 1
          }`,
        );
      }
    }
    const data: TopicMessages = {
      topic,
      messages: records.map((r) => ({ partition: r.partition, key: r.key, value: asBuffer(r.value) })),
    };
    if (options.idempotencyKey === undefined) {
      await this.#queue.send([data]);
      return { duplicate: false };
    }
    const key = `${topic}\u0000${options.idempotencyKey}`;
    for (;;) {
      const earlier = this.#inflight.get(key);
      if (!earlier) break;
      // A caller racing on the same key waits for the first: its success makes this a
      // duplicate, its failure leaves the key free to try again.
      if (await earlier.then(() => true, () => false)) return { duplicate: true };
    }
    const attempt = this.#appendKeyed(key, data);
    this.#inflight.set(key, attempt);
    try {
      return { duplicate: await attempt };
    } finally {
      if (this.#inflight.get(key) === attempt) this.#inflight.delete(key);
    }
  }

  async #appendKeyed(key: string, data: TopicMessages): Promise<boolean> {
    if (await this.#keys.seen(key)) return true;
    await this.#queue.send([data, this.#keys.record(key)]);
    this.#keys.remember(key);
    return false;
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.#connect();
    await this.#partitionCount(topic, "read");
    return await this.#reader.read(topic, partition, fromOffset, maxRecords);
  }

  async *consume(options: ConsumeOptions): AsyncIterable<RecordBatch> {
    if (options.signal?.aborted) return;
    await this.#connect();
    await this.#partitionCount(options.topic, "consume");
    const committed = new Map(
      (await this.offsets(options.topic, options.group)).map((o) => [o.partition, o.committed]),
    );
    yield* consumeGroup(this.#kafka, options, committed, this.#consumerSettings, this.#membership());
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await this.#connect();
    const member = this.#members.get(`${group}\u0000${topic}`)?.values().next().value;
    if (member) await member.commit(partition, nextOffset);
    else await commitFromOutside(this.#cluster, { group, topic, partition, nextOffset });
  }

  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.#connect();
    await this.#partitionCount(topic, "read offsets");
    const ends = await this.#admin.fetchTopicOffsets(topic);
    const committed = new Map<number, number>();
    if (group !== undefined) {
      const [entry] = await this.#admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const p of entry?.partitions ?? []) {
        if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
      }
    }
    return ends
      .map((o) => ({
        partition: o.partition,
        earliest: Number(o.low),
        end: Number(o.high),
        ...(group !== undefined ? { committed: committed.get(o.partition) } : {}),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connected) return;
    await this.#connected.catch(() => {});
    await Promise.allSettled([
      this.#producer.disconnect(),
      this.#admin.disconnect(),
      this.#cluster.disconnect(),
    ]);
  }

  #membership(): GroupMembers {
    return {
      join: (group, topic, member) => {
        const key = `${group}\u0000${topic}`;
        this.#members.set(key, (this.#members.get(key) ?? new Set()).add(member));
      },
      leave: (group, topic, member) => this.#members.get(`${group}\u0000${topic}`)?.delete(member),
    };
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the command log: it is closed"));
    this.#connected ??= (async () => {
      await Promise.all([this.#admin.connect(), this.#producer.connect(), this.#cluster.connect()]);
      await this.#createTopic(this.#keysTopic, 4, {
        "cleanup.policy": "compact,delete",
        "retention.ms": String(this.options.idempotencyWindowMs ?? HOUR_MS),
      });
    })();
    this.#connected.catch(() => this.#connected = undefined);
    return this.#connected;
  }

  async #createTopic(topic: string, partitions: number, config: Record<string, string>): Promise<void> {
    const configEntries = Object.entries({
      "max.message.bytes": String(this.options.maxMessageBytes ?? 64 * 1024 * 1024),
      ...config,
    }).map(([name, value]) => ({ name, value }));
    await this.#admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic,
        numPartitions: partitions,
        replicationFactor: this.options.replicationFactor ?? 1,
        configEntries,
      }],
    });
  }

  async #partitionCount(topic: string, action: string): Promise<number> {
    const known = this.#partitions.get(topic);
    if (known !== undefined) return known;
    let count = 0;
    try {
      const { topics } = await this.#admin.fetchTopicMetadata({ topics: [topic] });
      count = topics[0]?.partitions.length ?? 0;
    } catch (error) {
      if ((error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
    }
    if (count === 0) throw new NotFound(`Cannot ${action}: topic "${topic}" does not exist`);
    this.#partitions.set(topic, count);
    return count;
  }
}

export function openKafkaLog(options: KafkaLogOptions): KafkaCommandLog {
  return new KafkaCommandLog(options);
}

/** A view on the same bytes: kafkajs writes Buffers as they are and copies anything else. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
