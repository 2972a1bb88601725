/**
 * The agent's outbox: a bounded FIFO of batches on disk, so what the agent collected
 * survives Lookout being away and the agent itself being killed.
 *
 * Every batch is written here before it is sent, as one file
 * `<sequence, 16 digits>-<idempotency key>.batch`, written to a temporary name,
 * fsynced and renamed, so a crash leaves either the whole batch or none of it. The
 * sender reads the oldest first and removes it once Lookout acknowledged it; the key in
 * the name is sent as `Idempotency-Key`, so a batch that was delivered just before a
 * crash and is sent again after it is stored once. When the files exceed `maxBytes`,
 * the oldest are dropped and counted (`dropped`), as a full buffer must drop something
 * and the newest data is what an operator looks at first.
 *
 * @example
 * const queue = await DiskQueue.open({ dir: "/var/lib/lookout-agent/queue", maxBytes: 256 << 20 });
 * await queue.push(gzippedBody, samples);
 * const next = queue.next(); // oldest batch, or undefined; now being sent
 * await queue.remove(next);
 */
import { join } from "node:path";

export interface QueuedBatch {
  readonly sequence: number;
  readonly key: string;
  readonly path: string;
  readonly bytes: number;
  /** Samples in the batch, from its name, for the counters. */
  readonly samples: number;
}

export interface DiskQueueOptions {
  readonly dir: string;
  readonly maxBytes: number;
}

const NAME = /^(\d{16})-([0-9a-f-]{36})-(\d+)\.batch$/;

export class DiskQueue {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #batches: QueuedBatch[];
  #bytes: number;
  #next: number;
  #dropped = { batches: 0, samples: 0 };
  /** The batch the sender is delivering, which a full queue does not drop. */
  #sending?: QueuedBatch;

  private constructor(options: DiskQueueOptions, batches: QueuedBatch[]) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#batches = batches;
    this.#bytes = batches.reduce((n, b) => n + b.bytes, 0);
    this.#next = (batches.at(-1)?.sequence ?? 0) + 1;
  }

  /** Opens (or creates) the queue folder and takes over the batches a previous run left. */
  static async open(options: DiskQueueOptions): Promise<DiskQueue> {
    await Deno.mkdir(options.dir, { recursive: true });
    const batches: QueuedBatch[] = [];
    for await (const entry of Deno.readDir(options.dir)) {
      if (!entry.isFile) continue;
      const path = join(options.dir, entry.name);
      const match = NAME.exec(entry.name);
      // A temporary file is a batch whose write did not finish: it was never acknowledged.
      if (match === null) {
        if (entry.name.endsWith(".tmp")) await Deno.remove(path);
        continue;
      }
      const { size } = await Deno.stat(path);
      batches.push({
        sequence: Number(match[1]),
        key: match[2],
        path,
        bytes: size,
        samples: Number(match[3]),
      });
    }
    batches.sort((a, b) => a.sequence - b.sequence);
    return new DiskQueue(options, batches);
  }

  get length(): number {
    return this.#batches.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get dropped(): { readonly batches: number; readonly samples: number } {
    return { ...this.#dropped };
  }

  /** Stores a batch durably; drops the oldest batches if the queue would exceed its size. */
  async push(body: Uint8Array, samples: number): Promise<QueuedBatch> {
    const sequence = this.#next++;
    const key = crypto.randomUUID();
    const name = `${String(sequence).padStart(16, "0")}-${key}-${samples}.batch`;
    const path = join(this.#dir, name);
    const temporary = `${path}.tmp`;
    const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < body.length) written += await file.write(body.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
    const batch = { sequence, key, path, bytes: body.length, samples };
    this.#batches.push(batch);
    this.#bytes += batch.bytes;
    while (this.#bytes > this.#maxBytes && this.#batches.length > 1) {
      const oldest = this.#batches[0] === this.#sending ? this.#batches[1] : this.#batches[0];
      if (oldest === batch) break;
      await this.remove(oldest);
      this.#dropped.batches++;
      this.#dropped.samples += oldest.samples;
    }
    return batch;
  }

  /** The oldest batch, kept until `remove`d; the queue will not drop it meanwhile. */
  next(): QueuedBatch | undefined {
    this.#sending = this.#batches[0];
    return this.#sending;
  }

  read(batch: QueuedBatch): Promise<Uint8Array<ArrayBuffer>> {
    return Deno.readFile(batch.path);
  }

  async remove(batch: QueuedBatch): Promise<void> {
    const index = this.#batches.indexOf(batch);
    if (index < 0) return;
    this.#batches.splice(index, 1);
    if (this.#sending === batch) this.#sending = undefined;
    this.#bytes -= batch.bytes;
    await Deno.remove(batch.path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}
