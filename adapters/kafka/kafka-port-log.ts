/**
 * The command log port on Kafka, whichever client library carries it. What the port
 * means is written here once: plain appends go through an idempotent producer with
 * `acks=all`, grouped per request (`ProduceQueue`); a keyed append (every ingest request)
 * is a transaction whose records and idempotency key, written to a keys topic
 * (`IdempotencyWindow`), commit together; reads and group consumers see committed
 * records only; offsets are committed only by the caller, through this process's member
 * of the group when it has one. A client library supplies the requests beneath that
 * (`KafkaClientParts`: kafkajs in `kafka-log.ts`, `@platformatic/kafka` in
 * `platformatic-log.ts`), and both run the same contract suite.
 *
 * @example
 * const log = new KafkaPortLog(kafkajsParts(options), options);
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
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
import type { GroupConsumerSettings } from "./group-consumer.ts";
import { IdempotencyWindow } from "./idempotency-window.ts";
import type { KafkaLogOptions } from "./kafka-log.ts";
import { LogAppends } from "./log-appends.ts";
import {
  consumerSettings,
  type KeysTopic,
  keysTopic,
  MemberRegistry,
  produceSettings,
} from "./log-settings.ts";
import type { PartitionReader } from "./partition-reader.ts";
import { ProduceQueue, type QueueProducer } from "./produce-queue.ts";
import type { TopicCatalog } from "./topic-catalog.ts";

/** Which end of each partition `listOffsets` asks for, as read-committed readers see it. */
export type OffsetEnd = "earliest" | "latest";

/** The requests a Kafka client library makes for the command log. */
export interface KafkaClientParts {
  readonly topics: Pick<TopicCatalog, "create" | "partitionCount">;
  readonly reader: Pick<PartitionReader, "read">;
  plainProducer(): QueueProducer;
  /** A transactional producer; `transactionalId` stays the same for the log's lifetime. */
  keyedProducer(transactionalId: string): QueueProducer;
  /** Each partition's offset at `end`; "latest" is the last stable offset. Retried up to `deadlineMs`. */
  listOffsets(
    topic: string,
    partitions: readonly number[],
    end: OffsetEnd,
    deadlineMs?: number,
  ): Promise<ReadonlyMap<number, number>>;
  /** The group's committed next offsets; partitions without one are absent. */
  committedOffsets(group: string, topic: string): Promise<ReadonlyMap<number, number>>;
  consume(
    options: ConsumeOptions,
    settings: GroupConsumerSettings,
    members: MemberRegistry,
  ): AsyncIterable<RecordBatch>;
  /** Commits for a group that has no member in this process. */
  commitOutside(group: string, topic: string, partition: number, nextOffset: number): Promise<void>;
  connect(): Promise<void>;
  close(): Promise<void>;
}

export class KafkaPortLog implements CommandLog {
  readonly #appends: LogAppends;
  readonly #keysTopic: KeysTopic;
  readonly #members = new MemberRegistry();
  readonly #consumerSettings: GroupConsumerSettings;
  #connected?: Promise<void>;
  #closed = false;

  constructor(private readonly client: KafkaClientParts, private readonly options: KafkaLogOptions) {
    const produce = produceSettings(options);
    this.#keysTopic = keysTopic(options);
    const keys = new IdempotencyWindow(client.reader, { ...this.#keysTopic, now: options.now ?? Date.now });
    const plain = new ProduceQueue(() => client.plainProducer(), produce);
    const transactionalId = options.transactionalId ??
      `${options.clientId ?? "lookout"}-${crypto.randomUUID()}`;
    const keyed = new ProduceQueue(
      () => client.keyedProducer(transactionalId),
      produce,
      keys,
      (topic, partitions) => client.listOffsets(topic, partitions, "latest", produce.ackTimeoutMs),
    );
    this.#appends = new LogAppends(plain, keyed, keys, produce.ackTimeoutMs);
    this.#consumerSettings = consumerSettings(options);
  }

  /** Bytes of appends not yet acknowledged by the broker. */
  get pendingBytes(): number {
    return this.#appends.pendingBytes;
  }

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    await this.#connect();
    const retention = this.options.retentionMs;
    await this.client.topics.create(
      topic,
      partitions,
      retention ? { "retention.ms": String(retention) } : {},
    );
  }

  async append(
    topic: string,
    records: readonly OutgoingRecord[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    await this.#connect();
    return await this.#appends.append(
      topic,
      await this.client.topics.partitionCount(topic, "append"),
      records,
      options,
    );
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.#connect();
    await this.client.topics.partitionCount(topic, "read");
    return await this.client.reader.read(topic, partition, fromOffset, maxRecords);
  }

  async *consume(options: ConsumeOptions): AsyncIterable<RecordBatch> {
    if (options.signal?.aborted) return;
    await this.#connect();
    await this.client.topics.partitionCount(options.topic, "consume");
    yield* this.client.consume(options, this.#consumerSettings, this.#members);
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await this.#connect();
    const member = this.#members.any(group, topic);
    if (member) await member.commit(partition, nextOffset);
    else await this.client.commitOutside(group, topic, partition, nextOffset);
  }

  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.#connect();
    const count = await this.client.topics.partitionCount(topic, "read offsets");
    const partitions = Array.from({ length: count }, (_, partition) => partition);
    const [earliest, end, committed] = await Promise.all([
      this.client.listOffsets(topic, partitions, "earliest"),
      this.client.listOffsets(topic, partitions, "latest"),
      group === undefined ? undefined : this.client.committedOffsets(group, topic),
    ]);
    return partitions.map((partition) => ({
      partition,
      earliest: earliest.get(partition) ?? 0,
      end: end.get(partition) ?? 0,
      ...(committed ? { committed: committed.get(partition) } : {}),
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connected) return;
    await this.#connected.catch(() => {});
    await Promise.allSettled([this.#appends.close(), this.client.close()]);
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the command log: it is closed"));
    this.#connected ??= (async () => {
      await this.client.connect();
      const keys = this.#keysTopic;
      await this.client.topics.create(keys.topic, keys.partitions, keys.config);
    })();
    this.#connected.catch(() => this.#connected = undefined);
    return this.#connected;
  }
}
