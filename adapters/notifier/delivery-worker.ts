/**
 * Delivers the outbox: takes due rows, sends each to its channel and records the
 * outcome: delivered; retried with exponential backoff (1 s, 2 s, 4 s … capped at
 * 10 min) after a 5xx, 408, 429, timeout or connection failure; dead after a 4xx such as
 * 410 Gone, a refused address, a deleted channel or `maxAttempts` tries. A target that
 * fails delays only its own rows. A new row wakes the worker at once (`wake`), so the
 * first notification of an alert is not held for the poll interval.
 *
 * Before each round the dispatcher (when given) turns due notification groups into
 * rows, which are sent at once without being read back, and the worker sleeps no
 * longer than until the next group is due.
 *
 * Delivery is at least once: a crash after the POST and before the row is marked sends
 * it again, with the same `webhook-id`, which the receiver uses to drop the repeat.
 */
import { type ChannelRow, getChannel } from "../../read-models/channels-table.ts";
import { type DeliveryRow, dueDeliveries, markDelivery } from "../../read-models/deliveries-table.ts";
import type { Db } from "../../read-models/rules-table.ts";
import type { QueuedDelivery } from "./dispatcher.ts";
import type { Outcome, WebhookSender } from "./webhook-sender.ts";
import { WakeableSleep } from "../wakeable-sleep.ts";

export interface DeliveryWorkerOptions {
  readonly db: Db;
  readonly sender: Pick<WebhookSender, "send">;
  readonly now: () => number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly pollMs?: number;
  readonly concurrency?: number;
  /** Turns due notification groups into outbox rows before each round. */
  readonly dispatcher?: {
    dispatch(): Promise<readonly QueuedDelivery[]>;
    nextDueAt(): Promise<number | undefined>;
  };
  readonly onOutcome?: (delivery: DeliveryRow, outcome: Outcome) => void;
  readonly onError?: (error: unknown) => void;
}

const MAX_DELAY_MS = 600_000;

export class DeliveryWorker {
  readonly #abort = new AbortController();
  readonly #sleep = new WakeableSleep();
  #woken = false;
  #running?: Promise<void>;

  constructor(private readonly options: DeliveryWorkerOptions) {}

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#sleep.wake();
    await this.#running;
  }

  wake(): void {
    this.#woken = true;
    this.#sleep.wake();
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      this.#woken = false;
      let sent = 0;
      let sleepMs = this.options.pollMs ?? 1_000;
      try {
        const queued = await this.options.dispatcher?.dispatch() ?? [];
        await Promise.all(queued.map((q) => this.#deliver(q.row, q.channel)));
        const due = await dueDeliveries(this.options.db, this.options.now(), this.options.concurrency ?? 16);
        await Promise.all(due.map((d) => this.#deliver(d)));
        sent = queued.length + due.length;
        const next = await this.options.dispatcher?.nextDueAt();
        if (next !== undefined) sleepMs = Math.max(0, Math.min(sleepMs, next - this.options.now()));
      } catch (error) {
        this.options.onError?.(error);
      }
      if (sent === 0 && !this.#woken) await this.#sleep.for(sleepMs);
    }
  }

  /** Sends `delivery`; `channel` as the dispatch round that queued it read it, else read now. */
  async #deliver(delivery: DeliveryRow, known?: ChannelRow): Promise<void> {
    const { db, now } = this.options;
    const channel = known ?? await getChannel(db, delivery.tenant, delivery.channelId);
    const outcome: Outcome = channel === undefined
      ? { kind: "dead", error: "the channel was deleted" }
      : await this.options.sender.send(channel, {
        id: delivery.id,
        body: delivery.body,
        timestamp: Math.floor(now() / 1000),
      });
    const attempts = delivery.attempts + 1;
    this.options.onOutcome?.(delivery, outcome);
    if (outcome.kind === "delivered") {
      await markDelivery(db, delivery.id, {
        status: "delivered",
        attempts,
        nextAttemptAt: delivery.nextAttemptAt,
        lastError: null,
        deliveredAt: now(),
      });
      return;
    }
    const dead = outcome.kind === "dead" || attempts >= (this.options.maxAttempts ?? 10);
    const delay = Math.min(MAX_DELAY_MS, (this.options.baseDelayMs ?? 1_000) * 2 ** (attempts - 1));
    await markDelivery(db, delivery.id, {
      status: dead ? "dead" : "pending",
      attempts,
      nextAttemptAt: now() + delay,
      lastError: outcome.error,
      deliveredAt: null,
    });
  }
}
