/**
 * Hands batches from kafkajs' push-style `eachBatch` to a pulling async iterator, one at
 * a time: `put` resolves only when the taker asks for the batch after it, which is after
 * the taker's sink has acknowledged and committed. So the consumer never reads ahead of
 * its sink, nothing queues in memory, and kafkajs' fetch position advances only past
 * batches that were processed.
 *
 * @example
 * // producer side (eachBatch): await handoff.put(batch);
 * // consumer side: for (let b = await handoff.take(); b; b = await handoff.take()) await sink(b);
 */
export class BatchHandoff<T> {
  #queue: { value: T; release: () => void }[] = [];
  #taken?: () => void;
  #taker?: { resolve: (value: T | undefined) => void; reject: (error: unknown) => void };
  #ended = false;
  #error?: unknown;

  /** Resolves when the taker is done with `value`, or at once when the handoff has ended. */
  put(value: T): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((release) => {
      if (this.#taker) {
        const taker = this.#taker;
        this.#taker = undefined;
        this.#taken = release;
        taker.resolve(value);
      } else {
        this.#queue.push({ value, release });
      }
    });
  }

  /** The next batch; undefined once ended. Taking releases the previous batch's `put`. */
  take(): Promise<T | undefined> {
    this.#taken?.();
    this.#taken = undefined;
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const next = this.#queue.shift();
    if (next) {
      this.#taken = next.release;
      return Promise.resolve(next.value);
    }
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.#taker = { resolve, reject });
  }

  /** Ends the handoff: waiting puts resolve; takes end, or reject with `error` when given. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#taken?.();
    this.#taken = undefined;
    for (const { release } of this.#queue.splice(0)) release();
    const taker = this.#taker;
    this.#taker = undefined;
    if (taker && error !== undefined) taker.reject(error);
    else taker?.resolve(undefined);
  }
}
