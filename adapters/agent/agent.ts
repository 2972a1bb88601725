/**
 * The agent: every `intervalMs` it collects host metrics, scrapes its targets and
 * flushes StatsD, writes the batch to the disk queue and wakes the sender; the sender
 * delivers the queue oldest first, one batch at a time, gzipped, each with the
 * `Idempotency-Key` from its queue entry, retrying with backoff and jitter (honouring
 * `Retry-After`) until Lookout acknowledges or rejects it for good
 * (`domain/agent/delivery.ts`).
 *
 * @example
 * const agent = new Agent({ url, apiKey, intervalMs: 10_000, queue, collect: () => collector.collect() });
 * agent.start();
 * await agent.stop();
 */
import { gzipSync } from "node:zlib";
import { type Backoff, outcomeOf, retryAfterMs, retryDelayMs } from "../../domain/agent/delivery.ts";
import { type AgentSample, nativeBatch } from "../../domain/agent/native-batch.ts";
import type { Telemetry } from "../telemetry.ts";
import type { DiskQueue, QueuedBatch } from "./disk-queue.ts";

export interface AgentOptions {
  /** Lookout's base URL, e.g. `http://lookout:8080`. */
  readonly url: string;
  readonly apiKey: string;
  readonly intervalMs: number;
  readonly queue: DiskQueue;
  /** Everything one interval collected; `now` is the interval's timestamp. */
  readonly collect: (now: number) => Promise<AgentSample[]>;
  readonly telemetry: Telemetry;
  readonly backoff?: Backoff;
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly log?: (message: string) => void;
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #abort = new AbortController();
  #timer?: ReturnType<typeof setInterval>;
  #wake?: () => void;
  #sending?: Promise<void>;

  constructor(options: AgentOptions) {
    this.#o = options;
  }

  /** Collects now and every interval after; sends what the queue holds from the start. */
  start(): void {
    this.#sending ??= this.#sendLoop();
    void this.collectOnce();
    this.#timer = setInterval(() => void this.collectOnce(), this.#o.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    this.#wake?.();
    await this.#sending;
  }

  /** One interval: collect, queue durably, wake the sender. */
  async collectOnce(): Promise<void> {
    const { telemetry } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    try {
      const samples = await this.#o.collect(now);
      if (samples.length === 0) return;
      const body = gzipSync(nativeBatch(samples, now));
      await this.#o.queue.push(body, samples.length);
      telemetry.count("lookout_agent_collected_samples_total", {}, samples.length);
      this.#wake?.();
    } catch (error) {
      telemetry.count("lookout_agent_collect_errors_total", {});
      this.#log(`collect failed: ${messageOf(error)}`);
    }
  }

  async #sendLoop(): Promise<void> {
    const { queue } = this.#o;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const batch = queue.next();
      if (batch === undefined) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        continue;
      }
      await this.#deliver(batch);
    }
  }

  /** Sends one batch until it is delivered or rejected for good (or the agent stops). */
  async #deliver(batch: QueuedBatch): Promise<void> {
    const { queue, telemetry } = this.#o;
    const signal = this.#abort.signal;
    const body = await queue.read(batch);
    for (let attempt = 0; !signal.aborted; attempt++) {
      let status = 0;
      let retryAfter: string | null = null;
      let reason = "";
      try {
        const response = await fetch(new URL("/v1/samples", this.#o.url), {
          method: "POST",
          headers: {
            authorization: `Bearer ${this.#o.apiKey}`,
            "content-type": "application/x-ndjson",
            "content-encoding": "gzip",
            "idempotency-key": batch.key,
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.#o.requestTimeoutMs ?? 30_000)]),
        });
        status = response.status;
        retryAfter = response.headers.get("retry-after");
        reason = status >= 300 ? (await response.text()).slice(0, 500) : (await response.body?.cancel(), "");
      } catch (error) {
        if (signal.aborted) return;
        reason = messageOf(error);
      }
      const outcome = status === 0 ? "retry" : outcomeOf(status);
      if (outcome === "delivered" || outcome === "rejected") {
        await queue.remove(batch);
        const counter = outcome === "delivered" ? "sent" : "rejected";
        telemetry.count(`lookout_agent_${counter}_batches_total`, {}, 1);
        telemetry.count(`lookout_agent_${counter}_samples_total`, {}, batch.samples);
        if (outcome === "rejected") this.#log(`batch ${batch.key} rejected with ${status}: ${reason}`);
        return;
      }
      telemetry.count("lookout_agent_send_retries_total", { status: String(status) });
      const wait = retryDelayMs(
        attempt,
        retryAfterMs(retryAfter, (this.#o.now ?? Date.now)()),
        this.#o.random ?? Math.random,
        this.#o.backoff ?? { baseMs: 500, maxMs: 60_000 },
      );
      if (attempt === 0) this.#log(`sending failed (${status || reason}); retrying with backoff`);
      await sleep(wait, signal);
    }
  }

  #log(message: string): void {
    (this.#o.log ?? console.error)(`lookout-agent: ${message}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
