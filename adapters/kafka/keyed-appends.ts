/**
 * Keyed appends of the Kafka command log, whichever client carries them: callers racing
 * on one key in this process wait for the first attempt, a key another process appended
 * is a duplicate without a transaction, and the rest go to the transactional queue,
 * which decides the keys again when it assembles the transaction (`ProduceQueue`).
 */
import type { TopicMessages } from "kafkajs";
import { Unavailable } from "../../domain/errors.ts";
import type { IdempotencyWindow } from "./idempotency-window.ts";
import type { ProduceQueue } from "./produce-queue.ts";

export class KeyedAppends {
  readonly #inflight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly keys: Pick<IdempotencyWindow, "seen" | "record">,
    private readonly queue: ProduceQueue,
    private readonly ackTimeoutMs: number,
  ) {}

  /** Appends `data` under `key` (already scoped to its topic); `true` when it was a duplicate. */
  async append(key: string, data: TopicMessages): Promise<boolean> {
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
