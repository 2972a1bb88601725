/**
 * The command log on Kafka (kafkajs), for the distributed deployment. Port topics are
 * Kafka topics with the same names and partitions; a consumer group of the port is a
 * Kafka consumer group, so projector processes running the same projection share its
 * partitions. Records go through idempotent producers with `acks=all`, batched per
 * request (`ProduceQueue`). A keyed append (every ingest request) goes through a
 * transactional producer: its records and its idempotency key, written to a keys topic
 * (`IdempotencyWindow`), commit together, and consumers read committed records only.
 *
 * @example
 * const log = openKafkaLog({ brokers: ["127.0.0.1:9092"], clientId: "lookout-ingest-1" });
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
import { type Admin, Kafka, logLevel } from "kafkajs";
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
import { consumeGroup, type GroupConsumerSettings } from "./group-consumer.ts";
import { guardedSocketFactory } from "./guarded-socket.ts";
import { IdempotencyWindow } from "./idempotency-window.ts";
import {
  consumerSettings,
  type KeysTopic,
  keysTopic,
  MemberRegistry,
  produceSettings,
} from "./log-settings.ts";
import { createCluster, type KafkaCluster } from "./kafka-cluster.ts";
import { LogAppends } from "./log-appends.ts";
import { PartitionReader } from "./partition-reader.ts";
import { kafkajsProducer } from "./kafkajs-producer.ts";
import { ProduceQueue, type ProduceQueueOptions } from "./produce-queue.ts";
import { commitFromOutside } from "./offset-commit.ts";
import { retriable } from "./retriable.ts";
import { TopicCatalog } from "./topic-catalog.ts";

export interface KafkaLogOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Replication of topics this log creates (1 for a single broker, 3 in production). */
  readonly replicationFactor?: number;
  /** `retention.ms` of topics this log creates (how far back a replay can go). */
  readonly retentionMs?: number;
  /** Largest record batch a topic accepts (`max.message.bytes`). */
  readonly maxMessageBytes?: number;
  readonly idempotencyWindowMs?: number;
  /**
   * Transactional id of the keyed producer; unique per process (default: the client id
   * and a random suffix). A process restarted with the same id fences its predecessor's
   * open transaction at once instead of after `transactionTimeoutMs`.
   */
  readonly transactionalId?: string;
  /** How long the broker keeps a silent producer's transaction open before aborting it. */
  readonly transactionTimeoutMs?: number;
  /** Bytes asked for per fetch by `read` (replays and the keys topic). */
  readonly fetchBytes?: number;
  readonly keysTopic?: string;
  readonly produce?: Partial<ProduceQueueOptions>;
  readonly consumer?: Partial<GroupConsumerSettings>;
  readonly now?: () => number;
}

export class KafkaCommandLog implements CommandLog {
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #cluster: KafkaCluster;
  readonly #reader: PartitionReader;
  readonly #keys: IdempotencyWindow;
  readonly #keysTopic: KeysTopic;
  readonly #appends: LogAppends;
  readonly #topics: TopicCatalog;
  readonly #members = new MemberRegistry();
  readonly #consumerSettings: GroupConsumerSettings;
  #connected?: Promise<void>;
  #closed = false;

  constructor(private readonly options: KafkaLogOptions) {
    this.#kafka = new Kafka({
      clientId: options.clientId ?? "lookout",
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      socketFactory: guardedSocketFactory,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    });
    this.#admin = this.#kafka.admin();
    this.#cluster = createCluster(this.#kafka);
    this.#topics = new TopicCatalog(this.#admin, this.#cluster, options);
    this.#reader = new PartitionReader(this.#cluster, { fetchBytes: options.fetchBytes });
    const produce = produceSettings(options);
    const producerSettings = {
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Until the broker answers: a retried request keeps its sequence numbers, so the
      // broker recognises one that had landed; ProduceQueue's timeout answers the caller.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
    };
    this.#keysTopic = keysTopic(options);
    this.#keys = new IdempotencyWindow(this.#reader, { ...this.#keysTopic, now: options.now ?? Date.now });
    const plain = new ProduceQueue(() => kafkajsProducer(this.#kafka.producer(producerSettings)), produce);
    const transactionalId = options.transactionalId ??
      `${options.clientId ?? "lookout"}-${crypto.randomUUID()}`;
    const keyed = new ProduceQueue(
      () =>
        kafkajsProducer(this.#kafka.producer({
          ...producerSettings,
          transactionalId,
          transactionTimeout: options.transactionTimeoutMs ?? 10_000,
        })),
      produce,
      this.#keys,
      (topic, partitions) => this.#stableOffsets(topic, partitions, produce.ackTimeoutMs),
    );
    this.#appends = new LogAppends(plain, keyed, this.#keys, produce.ackTimeoutMs);
    this.#consumerSettings = consumerSettings(options);
  }

  /** Bytes of appends not yet acknowledged by the broker. */
  get pendingBytes(): number {
    return this.#appends.pendingBytes;
  }

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    await this.#connect();
    const retention = this.options.retentionMs;
    await this.#topics.create(topic, partitions, retention ? { "retention.ms": String(retention) } : {});
  }

  async append(
    topic: string,
    records: readonly OutgoingRecord[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    await this.#connect();
    return await this.#appends.append(
      topic,
      await this.#topics.partitionCount(topic, "append"),
      records,
      options,
    );
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.#connect();
    await this.#topics.partitionCount(topic, "read");
    return await this.#reader.read(topic, partition, fromOffset, maxRecords);
  }

  async *consume(options: ConsumeOptions): AsyncIterable<RecordBatch> {
    if (options.signal?.aborted) return;
    await this.#connect();
    await this.#topics.partitionCount(options.topic, "consume");
    const committed = new Map(
      (await this.offsets(options.topic, options.group)).map((o) => [o.partition, o.committed]),
    );
    yield* consumeGroup(this.#kafka, options, committed, this.#consumerSettings, this.#members);
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await this.#connect();
    const member = this.#members.any(group, topic);
    if (member) await member.commit(partition, nextOffset);
    else await retriable(() => commitFromOutside(this.#cluster, { group, topic, partition, nextOffset }));
  }

  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.#connect();
    const count = await this.#topics.partitionCount(topic, "read offsets");
    const partitions = Array.from({ length: count }, (_, partition) => ({ partition }));
    const [earliest, end] = await Promise.all([true, false].map((fromBeginning) =>
      retriable(async () => {
        await this.#cluster.addTargetTopic(topic);
        const [entry] = await this.#cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions }]);
        return new Map(entry.partitions.map((p) => [p.partition, Number(p.offset)]));
      })
    ));
    const committed = new Map<number, number>();
    if (group !== undefined) {
      const [entry] = await retriable(() => this.#admin.fetchOffsets({ groupId: group, topics: [topic] }));
      for (const p of entry?.partitions ?? []) {
        if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
      }
    }
    return partitions.map(({ partition }) => ({
      partition,
      earliest: earliest.get(partition) ?? 0,
      end: end.get(partition) ?? 0,
      ...(group !== undefined ? { committed: committed.get(partition) } : {}),
    }));
  }

  /**
   * Each partition's last stable offset: the end read-committed readers see. Retried no
   * longer than `deadlineMs`, the time the keyed queue waits for readability at all.
   */
  async #stableOffsets(
    topic: string,
    partitions: readonly number[],
    deadlineMs: number,
  ): Promise<Map<number, number>> {
    return await retriable(async () => {
      await this.#cluster.addTargetTopic(topic);
      const [entry] = await this.#cluster.fetchTopicsOffset([{
        topic,
        fromBeginning: false,
        partitions: partitions.map((partition) => ({ partition })),
      }]);
      return new Map(entry.partitions.map((p) => [p.partition, Number(p.offset)]));
    }, deadlineMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connected) return;
    await this.#connected.catch(() => {});
    await Promise.allSettled([
      this.#appends.close(),
      this.#admin.disconnect(),
      this.#cluster.disconnect(),
    ]);
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the command log: it is closed"));
    this.#connected ??= (async () => {
      await Promise.all([this.#admin.connect(), this.#cluster.connect()]);
      const keys = this.#keysTopic;
      await this.#topics.create(keys.topic, keys.partitions, keys.config);
    })();
    this.#connected.catch(() => this.#connected = undefined);
    return this.#connected;
  }
}

export function openKafkaLog(options: KafkaLogOptions): KafkaCommandLog {
  return new KafkaCommandLog(options);
}
