/**
 * Appends of the Kafka command log, whichever client carries them. Plain appends go to
 * the idempotent queue. For keyed ones, callers racing on one key in this process wait
 * for the first attempt, a key another process appended is a duplicate without a
 * transaction, and the rest go to the transactional queue, which decides the keys again
 * when it assembles the transaction (`ProduceQueue`).
 */
import { Buffer } from "node:buffer";
import type { TopicMessages } from "kafkajs";
import { Unavailable } from "../../domain/errors.ts";
import type { AppendOptions, AppendResult, OutgoingRecord } from "../../domain/ports/command-log.ts";
import type { IdempotencyWindow } from "./idempotency-window.ts";
import type { ProduceQueue } from "./produce-queue.ts";
import { assertPartitions } from "./topic-catalog.ts";

export class LogAppends {
  readonly #inflight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly plain: ProduceQueue,
    private readonly queue: ProduceQueue,
    private readonly keys: Pick<IdempotencyWindow, "seen" | "record">,
    private readonly ackTimeoutMs: number,
  ) {}

  /** Bytes of appends not yet acknowledged by the broker. */
  get pendingBytes(): number {
    return this.plain.pendingBytes + this.queue.pendingBytes;
  }

  /** Appends to a topic of `partitions` partitions. */
  async append(
    topic: string,
    partitions: number,
    records: readonly OutgoingRecord[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    assertPartitions(topic, partitions, records);
    const data: TopicMessages = {
      topic,
      messages: records.map((r) => ({ partition: r.partition, key: r.key, value: asBuffer(r.value) })),
    };
    if (options.idempotencyKey === undefined) {
      await this.plain.send([data]);
      return { duplicate: false };
    }
    return { duplicate: await this.#keyed(`${topic}\u0000${options.idempotencyKey}`, data) };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.plain.close(), this.queue.close()]);
  }

  /** Appends `data` under `key` (already scoped to its topic); `true` when it was a duplicate. */
  async #keyed(key: string, data: TopicMessages): Promise<boolean> {
    for (;;) {
      const earlier = this.#inflight.get(key);
      if (!earlier) break;
      // A caller racing on the same key waits for the first: its success makes this a
      // duplicate, its failure leaves the key free to try again.
      if (await earlier.then(() => true, () => false)) return true;
    }
    const attempt = this.#appendKeyed(key, data);
    this.#inflight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      if (this.#inflight.get(key) === attempt) this.#inflight.delete(key);
    }
  }

  async #appendKeyed(key: string, data: TopicMessages): Promise<boolean> {
    // Seen by another process (a client retrying on another ingest node); this process's
    // own appends are decided again when the transaction is assembled.
    if (await this.#keysSeen(key)) return true;
    return await this.queue.send([data, this.keys.record(key)], key);
  }

  /** Whether a key is in the window, within the same time an append may take. */
  async #keysSeen(key: string): Promise<boolean> {
    const ms = this.ackTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Unavailable(
              `Cannot append to the command log: the Kafka broker did not answer within ${ms} ms`,
            ),
          ),
        ms,
      );
    });
    try {
      return await Promise.race([this.keys.seen(key), late]);
    } catch (error) {
      if (error instanceof Unavailable) throw error;
      throw new Unavailable(`Cannot append to the command log: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A view on the same bytes: the clients write Buffers as they are and copy anything else. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
