/**
 * The command log on Kafka through `@platformatic/kafka`, the same port and the same
 * guarantees as `KafkaCommandLog` (kafkajs): plain appends through an idempotent producer
 * with `acks=all`, grouped per request (`ProduceQueue`); keyed appends as transactions
 * whose records and idempotency key (`IdempotencyWindow`) commit together; reads and
 * group consumers read committed only; offsets committed only by the caller.
 *
 * @example
 * const log = openPlatformaticLog({ brokers: ["127.0.0.1:9092"], clientId: "lookout-ingest-1" });
 * await log.ensureTopic("metrics.samples", 8);
 * await log.append("metrics.samples", [{ partition: 3, key: "acme", value }], { idempotencyKey });
 */
import { Admin, Consumer, FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
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
import {
  consumerSettings,
  type KeysTopic,
  keysTopic,
  MemberRegistry,
  produceSettings,
} from "./log-settings.ts";
import type { KafkaLogOptions } from "./kafka-log.ts";
import { LogAppends } from "./log-appends.ts";
import {
  committedOffsets,
  consumePlatformaticGroup,
  type PlatformaticClientOptions,
} from "./platformatic-group.ts";
import { platformaticProducer } from "./platformatic-producer.ts";
import { PlatformaticReader } from "./platformatic-reader.ts";
import { PlatformaticTopics } from "./platformatic-topics.ts";
import { ProduceQueue } from "./produce-queue.ts";

export class PlatformaticCommandLog implements CommandLog {
  readonly #client: PlatformaticClientOptions;
  readonly #admin: Admin;
  /** Fetches and offset lists without joining a group. */
  readonly #consumer: Consumer;
  readonly #reader: PlatformaticReader;
  readonly #topics: PlatformaticTopics;
  readonly #appends: LogAppends;
  readonly #keysTopic: KeysTopic;
  readonly #members = new MemberRegistry();
  readonly #consumerSettings: GroupConsumerSettings;
  #connected?: Promise<void>;
  #closed = false;

  constructor(private readonly options: KafkaLogOptions) {
    const clientId = options.clientId ?? "lookout";
    this.#client = {
      clientId,
      bootstrapBrokers: [...options.brokers],
      connectTimeout: 3_000,
      retries: 8,
      retryDelay: 100,
    };
    this.#admin = new Admin(this.#client);
    this.#consumer = new Consumer({ ...this.#client, groupId: `${clientId}-reader`, autocommit: false });
    this.#reader = new PlatformaticReader(this.#consumer, options.fetchBytes);
    this.#topics = new PlatformaticTopics(this.#admin, this.#consumer, options);
    const produce = produceSettings(options);
    // Until the broker answers: a retried request keeps its sequence numbers, so the
    // broker recognises one that had landed; ProduceQueue's timeout answers the caller.
    const producer = { ...this.#client, retries: true, retryDelay: 100 };
    this.#keysTopic = keysTopic(options);
    const keys = new IdempotencyWindow(this.#reader, { ...this.#keysTopic, now: options.now ?? Date.now });
    const plain = new ProduceQueue(() => platformaticProducer(producer), produce);
    const transactionalId = options.transactionalId ?? `${clientId}-${crypto.randomUUID()}`;
    const keyed = new ProduceQueue(
      () =>
        platformaticProducer(
          // The client's request timeout is also what it asks as the transaction timeout.
          { ...producer, transactionalId, timeout: options.transactionTimeoutMs ?? 10_000 },
        ),
      produce,
      keys,
      (topic, partitions) => this.#stableOffsets(topic, partitions),
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
    yield* consumePlatformaticGroup(
      this.#client,
      this.#admin,
      options,
      this.#consumerSettings,
      this.#members,
    );
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    await this.#connect();
    const member = this.#members.any(group, topic);
    if (member) return await member.commit(partition, nextOffset);
    await this.#admin.alterConsumerGroupOffsets({
      groupId: group,
      topics: [{ name: topic, partitionOffsets: [{ partition, offset: BigInt(nextOffset) }] }],
    });
  }

  async offsets(topic: string, group?: string): Promise<PartitionOffsets[]> {
    await this.#connect();
    const count = await this.#topics.partitionCount(topic, "read offsets");
    const partitionIndexes = Array.from({ length: count }, (_, partition) => partition);
    const [earliest, end] = await Promise.all(
      [ListOffsetTimestamps.EARLIEST, ListOffsetTimestamps.LATEST].map(async (timestamp) => {
        const [entry] = await this.#admin.listOffsets({
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          topics: [{
            name: topic,
            partitions: partitionIndexes.map((partitionIndex) => ({ partitionIndex, timestamp })),
          }],
        });
        return new Map(entry.partitions.map((p) => [p.partitionIndex, Number(p.offset)]));
      }),
    );
    const committed = group === undefined ? undefined : await committedOffsets(this.#admin, group, topic);
    return partitionIndexes.map((partition) => ({
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
    await Promise.allSettled([
      this.#appends.close(),
      this.#admin.close(),
      this.#consumer.close(true),
    ]);
  }

  /** Each partition's last stable offset: the end read-committed readers see. */
  async #stableOffsets(topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    const listed = await this.#admin.listOffsets({
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      topics: [{
        name: topic,
        partitions: partitions.map((partitionIndex) => ({
          partitionIndex,
          timestamp: ListOffsetTimestamps.LATEST,
        })),
      }],
    });
    return new Map(listed.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, Number(p.offset)])));
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the command log: it is closed"));
    const keys = this.#keysTopic;
    this.#connected ??= this.#topics.create(keys.topic, keys.partitions, keys.config);
    this.#connected.catch(() => this.#connected = undefined);
    return this.#connected;
  }
}

export function openPlatformaticLog(options: KafkaLogOptions): PlatformaticCommandLog {
  return new PlatformaticCommandLog(options);
}
