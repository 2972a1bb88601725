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
 * already sent may still land, which the caller's idempotency key covers on retry.
 *
 * The producer retries a request until the broker answers (that is what keeps its
 * sequence numbers and the broker's in step across a broker restart). If a request still
 * fails, the producer's sequence state is unknown, so it is replaced by a new one (a new
 * producer id) before anything else is sent; reusing it would have the broker refuse
 * every later request as out of order.
 */
import type { Message, Producer, TopicMessages } from "kafkajs";
import { Unavailable } from "../../domain/errors.ts";

export interface ProduceQueueOptions {
  readonly maxPendingBytes: number;
  readonly ackTimeoutMs: number;
  /** Largest request the queue assembles from waiting appends. */
  readonly maxRequestBytes: number;
}

interface PendingAppend {
  readonly messages: readonly TopicMessages[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
}

export class ProduceQueue {
  #waiting: PendingAppend[] = [];
  #pendingBytes = 0;
  #flushing = false;

  #producer?: Promise<Producer>;

  constructor(
    private readonly createProducer: () => Producer,
    private readonly options: ProduceQueueOptions,
  ) {}

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await (await producer?.catch(() => undefined))?.disconnect();
  }

  #connected(): Promise<Producer> {
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

  send(messages: readonly TopicMessages[]): Promise<void> {
    const bytes = byteSize(messages);
    if (this.#pendingBytes > 0 && this.#pendingBytes + bytes > this.options.maxPendingBytes) {
      return Promise.reject(
        new Unavailable(
          `Cannot append to the command log: ${this.#pendingBytes} bytes are waiting for the Kafka broker ` +
            `(limit ${this.options.maxPendingBytes})`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
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
        resolve: () => (clearTimeout(timer), resolve()),
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
          const producer = await this.#connected();
          await producer.sendBatch({ acks: -1, topicMessages: request.flatMap((p) => p.messages) });
          for (const pending of request) this.#settle(pending);
        } catch (error) {
          for (const pending of request) this.#settle(pending, translate(error));
          await this.close().catch(() => {});
        } finally {
          for (const pending of request) this.#pendingBytes -= pending.bytes;
        }
      }
    } finally {
      this.#flushing = false;
    }
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

  #settle(pending: PendingAppend, error?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    if (error === undefined) pending.resolve();
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
function translate(error: unknown): unknown {
  const retriable = (error as { retriable?: boolean }).retriable === true ||
    /ECONNREFUSED|ECONNRESET|Connection|timed out|broker/i.test(String((error as Error)?.message ?? error));
  return retriable ? new Unavailable(`Cannot append to the command log: ${(error as Error).message}`) : error;
}
