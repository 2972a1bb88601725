/**
 * The idempotency-key window of the Kafka command log. Kafka has no "insert unless the
 * key exists", so each keyed append also writes its key to a keys topic (compacted,
 * retained for the window) *in the same transaction* as its records: a key is in the
 * topic exactly when its records are in the log. Every log instance reads that topic
 * (committed records only) before deciding whether a key is new.
 *
 * What this guarantees: within one process, a key is appended once per window, also
 * when its first attempt's caller was answered 503 while the attempt was still in
 * flight (see `ProduceQueue`). Across processes (several ingest nodes), a retry is
 * recognised once the first attempt's transaction has committed, which is before its
 * caller got a 202. Two attempts of one key that reach two nodes within the same few
 * milliseconds can both append; a client that retries only after an answer or a
 * timeout never does that.
 */
import { Buffer } from "node:buffer";
import type { TopicMessages } from "kafkajs";
import type { PartitionReader } from "./partition-reader.ts";
import type { KeyLedger } from "./produce-queue.ts";

export interface IdempotencyWindowOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly windowMs: number;
  readonly now: () => number;
}

const MARKER = Buffer.from([1]);
const PRUNE_EVERY_MS = 60_000;

export class IdempotencyWindow implements KeyLedger {
  readonly #seen = new Map<string, number>();
  readonly #next: number[];
  /** Per keys-topic partition, the read under way. */
  readonly #catchingUp = new Map<number, Promise<void>>();
  #prunedAt = 0;

  constructor(
    private readonly reader: Pick<PartitionReader, "read">,
    private readonly options: IdempotencyWindowOptions,
  ) {
    this.#next = Array.from({ length: options.partitions }, () => 0);
  }

  /** Whether `key` (already scoped to its topic) was appended within the window. */
  async seen(key: string): Promise<boolean> {
    // Only the key's own partition can hold it: one fetch, not one per partition.
    await this.#catchUp(this.#partitionOf(key));
    return this.#inWindow(key, this.options.now() - this.options.windowMs);
  }

  async known(keys: readonly string[], refresh: boolean): Promise<ReadonlySet<string>> {
    if (refresh) {
      // Every partition, not only those of `keys`: the transaction in doubt may hold keys
      // of other partitions whose retries come later, and after this read nothing is in
      // doubt any more, so those retries are decided without another read.
      await Promise.all(this.#next.map(async (_, partition) => {
        // A read already under way may have started before the transaction in doubt
        // was settled; the one after it cannot have.
        await this.#catchingUp.get(partition)?.catch(() => {});
        await this.#catchUp(partition);
      }));
    }
    const horizon = this.options.now() - this.options.windowMs;
    return new Set(keys.filter((key) => this.#inWindow(key, horizon)));
  }

  /** Remembers keys whose transaction committed (the keys topic has them too). */
  landed(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) this.#seen.set(key, now);
  }

  /** The keys-topic record that goes in the same transaction as the keyed records. */
  record(key: string): TopicMessages {
    return {
      topic: this.options.topic,
      // Not null: on a compacted topic a null value is a tombstone that deletes the key.
      messages: [{ key, value: MARKER, partition: this.#partitionOf(key) }],
    };
  }

  #inWindow(key: string, horizon: number): boolean {
    return (this.#seen.get(key) ?? -Infinity) > horizon;
  }

  #partitionOf(key: string): number {
    return partitionOfKey(key, this.options.partitions);
  }

  /** Reads what other processes appended to a partition since the last look; one read at a time. */
  #catchUp(partition: number): Promise<void> {
    let reading = this.#catchingUp.get(partition);
    if (!reading) {
      reading = this.#read(partition).finally(() => this.#catchingUp.delete(partition));
      this.#catchingUp.set(partition, reading);
    }
    return reading;
  }

  async #read(partition: number): Promise<void> {
    const horizon = this.options.now() - this.options.windowMs;
    for (;;) {
      const records = await this.reader.read(this.options.topic, partition, this.#next[partition], 10_000);
      for (const record of records) {
        if (record.timestamp > horizon) {
          this.#seen.set(record.key, Math.max(this.#seen.get(record.key) ?? 0, record.timestamp));
        }
        this.#next[partition] = record.offset + 1;
      }
      if (records.length < 10_000) break;
    }
    if (this.#prunedAt + PRUNE_EVERY_MS > this.options.now()) return;
    this.#prunedAt = this.options.now();
    for (const [key, at] of this.#seen) if (at <= horizon) this.#seen.delete(key);
  }
}

/** FNV-1a: spreads keys over the keys topic's partitions the same way in every process. */
function partitionOfKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}
