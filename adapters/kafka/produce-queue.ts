/**
 * Group commit for the Kafka producer: appends made while a produce request is in flight
 * wait and go out together in the next one (one request carries many callers' records),
 * so throughput does not depend on round trips and the idempotent producer can keep a
 * single request in flight, which is what keeps its sequence numbers in order.
 *
 * Bounded: past `maxPendingBytes` waiting or in flight, an append fails at once with
 * `Unavailable`, and an append the broker has not acknowledged within `ackTimeoutMs`
 * fails the same way, so ingest answers 503 instead of 202 while the broker is down or
 * paused. An append that timed out before it was sent is dropped, not sent later; one
 * already sent may still land.
 *
 * With `keys` (the keyed queue), each request is one Kafka transaction: the records of
 * every append in it and their idempotency keys become visible together or not at all
 * (consumers read committed); an append resolves once its records are readable
 * (`untilStable`). Keys are checked when a request is assembled, not when
 * an append is queued: a retry queued while its earlier attempt is still in flight is
 * decided after that attempt's outcome, and is a duplicate when it landed. A failed
 * transaction has an unknown outcome (a commit the broker took just before it died
 * completes when it restarts), so the producer is replaced by one with the same
 * transactional id, whose initialisation makes the broker finish or abort the old
 * transaction, and the keys topic is read again before the next keys are decided.
 *
 * The producer retries a request until the broker answers (that is what keeps its
 * sequence numbers and the broker's in step across a broker restart). If a request still
 * fails, the producer's sequence state is unknown, so it is replaced by a new one (a new
 * producer id or epoch) before anything else is sent; reusing it would have the broker
 * refuse every later request as out of order.
 */
import type { Message, TopicMessages } from "kafkajs";
import { Unavailable } from "../../domain/errors.ts";
import { type StableOffsets, untilStable, type WrittenBatch } from "./stable-offsets.ts";

/** What the queue needs of a producer (each client adapts to it). */
export interface QueueProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: { acks: number; topicMessages: TopicMessages[] }): Promise<unknown>;
  transaction(): Promise<{
    /** Where the records begin in each partition written. */
    sendBatch(batch: { acks: number; topicMessages: TopicMessages[] }): Promise<readonly WrittenBatch[]>;
    commit(): Promise<void>;
  }>;
}

export interface ProduceQueueOptions {
  readonly maxPendingBytes: number;
  readonly ackTimeoutMs: number;
  /** Largest request the queue assembles from waiting appends. */
  readonly maxRequestBytes: number;
}

/** The idempotency keys a transactional queue decides against. */
export interface KeyLedger {
  /** The keys among `keys` already appended; `refresh` reads what landed since the last look. */
  known(keys: readonly string[], refresh: boolean): Promise<ReadonlySet<string>>;
  /** Keys whose transaction committed. */
  landed(keys: readonly string[]): void;
}

interface PendingAppend {
  readonly messages: readonly TopicMessages[];
  readonly bytes: number;
  readonly key?: string;
  readonly resolve: (duplicate: boolean) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
}

export class ProduceQueue {
  #waiting: PendingAppend[] = [];
  #pendingBytes = 0;
  #flushing = false;
  /** Whether a transaction failed since the keys were last read from the log. */
  #uncertain = false;
  /** What the request in hand was doing, named in the error when it fails. */
  #step = "connecting";

  #producer?: Promise<QueueProducer>;

  constructor(
    private readonly createProducer: () => QueueProducer,
    private readonly options: ProduceQueueOptions,
    private readonly keys?: KeyLedger,
    /** How the keyed queue learns that a committed transaction is readable. */
    private readonly stable?: StableOffsets,
  ) {}

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await (await producer?.catch(() => undefined))?.disconnect();
  }

  #connected(): Promise<QueueProducer> {
    this.#producer ??= (async () => {
      const producer = this.createProducer();
      await producer.connect();
      return producer;
    })();
    this.#producer.catch(() => this.#producer = undefined);
    return this.#producer;
  }

  /** Bytes of appends waiting for or in a produce request. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Resolves once the broker acknowledged the records: `true` when, on the keyed queue,
   * `key` had already been appended and nothing was sent.
   */
  send(messages: readonly TopicMessages[], key?: string): Promise<boolean> {
    const bytes = byteSize(messages);
    if (this.#pendingBytes > 0 && this.#pendingBytes + bytes > this.options.maxPendingBytes) {
      return Promise.reject(
        new Unavailable(
          `Cannot append to the command log: ${this.#pendingBytes} bytes are waiting for the Kafka broker ` +
            `(limit ${this.options.maxPendingBytes})`,
        ),
      );
    }
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(
          pending,
          new Unavailable(
            `Cannot append to the command log: the Kafka broker did not acknowledge within ` +
              `${this.options.ackTimeoutMs} ms`,
          ),
        );
      }, this.options.ackTimeoutMs);
      const pending: PendingAppend = {
        messages,
        bytes,
        key,
        resolve: (duplicate) => (clearTimeout(timer), resolve(duplicate)),
        reject: (error: unknown) => (clearTimeout(timer), reject(error)),
        settled: false,
      };
      this.#pendingBytes += bytes;
      this.#waiting.push(pending);
      if (!this.#flushing) queueMicrotask(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#waiting.length > 0) {
        const request = this.#takeRequest();
        if (request.length === 0) continue;
        try {
          this.#step = "connecting";
          const producer = await this.#connected();
          if (this.keys) await this.#sendTransaction(producer, request, this.keys);
          else {
            this.#step = "producing";
            await producer.sendBatch({ acks: -1, topicMessages: request.flatMap((p) => p.messages) });
            for (const pending of request) this.#settle(pending);
          }
        } catch (error) {
          this.#uncertain = this.keys !== undefined;
          for (const pending of request) this.#settle(pending, translate(error, this.#step));
          await this.close().catch(() => {});
        } finally {
          for (const pending of request) this.#pendingBytes -= pending.bytes;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** One transaction for the request's appends whose keys are new; the others are duplicates. */
  async #sendTransaction(producer: QueueProducer, request: PendingAppend[], keys: KeyLedger): Promise<void> {
    // Starting the transaction first: a new producer's initialisation is what settles
    // a failed transaction of its predecessor, before the keys are read again.
    this.#step = "starting a transaction";
    const transaction = await producer.transaction();
    this.#step = "reading the idempotency keys";
    const known = await keys.known(request.flatMap((p) => p.key ?? []), this.#uncertain);
    this.#uncertain = false;
    const fresh: PendingAppend[] = [];
    const repeated: PendingAppend[] = [];
    const inRequest = new Set<string>();
    for (const pending of request) {
      if (pending.key !== undefined && (known.has(pending.key) || inRequest.has(pending.key))) {
        repeated.push(pending);
      } else {
        fresh.push(pending);
        if (pending.key !== undefined) inRequest.add(pending.key);
      }
    }
    this.#step = "producing";
    const written = fresh.length > 0
      ? await transaction.sendBatch({ acks: -1, topicMessages: fresh.flatMap((p) => p.messages) })
      : [];
    this.#step = "committing";
    await transaction.commit();
    // The keys are known to have landed from here on, also when the wait below fails: a
    // retry of one of them is then a duplicate, whether or not the markers are in yet
    // (after a broker restart they are written when its coordinator completes the commit).
    keys.landed([...inRequest]);
    this.#step = "waiting for the commit to become readable";
    if (this.stable) await untilStable(written, this.stable, this.options.ackTimeoutMs);
    for (const pending of fresh) this.#settle(pending);
    for (const pending of repeated) this.#settle(pending, undefined, true);
  }

  /** Waiting appends that still want an answer, up to the request size. */
  #takeRequest(): PendingAppend[] {
    const request: PendingAppend[] = [];
    let bytes = 0;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0];
      if (next.settled) {
        this.#waiting.shift();
        this.#pendingBytes -= next.bytes;
        continue;
      }
      if (request.length > 0 && bytes + next.bytes > this.options.maxRequestBytes) break;
      request.push(this.#waiting.shift()!);
      bytes += next.bytes;
    }
    return request;
  }

  #settle(pending: PendingAppend, error?: unknown, duplicate = false): void {
    if (pending.settled) return;
    pending.settled = true;
    if (error === undefined) pending.resolve(duplicate);
    else pending.reject(error);
  }
}

function byteSize(messages: readonly TopicMessages[]): number {
  let bytes = 0;
  for (const { messages: list } of messages) {
    for (const message of list as Message[]) {
      bytes += 64 + ((message.value as Uint8Array | null)?.byteLength ?? 0) +
        String(message.key ?? "").length;
    }
  }
  return bytes;
}

/** Connection-level failures mean "not now", which ingest reports as 503 + Retry-After. */
function translate(error: unknown, step: string): unknown {
  if (error instanceof Unavailable) return error;
  const retriable = (error as { retriable?: boolean }).retriable === true ||
    /ECONNREFUSED|ECONNRESET|Connection|timed out|broker/i.test(String((error as Error)?.message ?? error));
  return retriable
    ? new Unavailable(`Cannot append to the command log: ${(error as Error).message} (while ${step})`)
    : error;
}
