/**
 * Runs a projection as a consumer group of the command log: plan a batch, record the
 * plan in `projection_progress`, write it to the analytics store, then commit the
 * offset. A crash anywhere in between replays the recorded plan exactly (same records,
 * same state, same `now`), so the store's deduplication tokens drop what had landed:
 * no sample lost, none counted twice.
 *
 * Each batch's writes run inside `defer` + `retry` with capped backoff, so a store
 * outage pauses the stream instead of ending it or dropping data. A record that cannot
 * be decoded or planned goes to the dead-letter topic `<topic>.dlq` with its reason,
 * and the stream goes on.
 */
import { defer, lastValueFrom, retry, timer } from "rxjs";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { type CommandLog, type RecordBatch, recordBatch } from "../domain/ports/command-log.ts";
import type { BatchCounters, DeadLetter, PlannedBatch, Projection } from "../projections/projection.ts";

export interface ProjectorOptions {
  readonly maxRecords?: number;
  /**
   * Pause after a batch smaller than `maxRecords`, so the next one gathers more records:
   * every batch writes a few ClickHouse parts whose fixed cost (about 20–30 ms CPU each)
   * dwarfs the rows of a small batch. 0 pulls at once.
   */
  readonly lingerMs?: number;
  readonly now?: () => number;
  readonly onBatch?: (projection: string, counters: BatchCounters) => void;
  readonly onError?: (projection: string, error: unknown) => void;
  readonly tickMs?: number;
}

interface Progress {
  readonly partition: number;
  readonly first: string;
  readonly last: string;
  readonly before: string;
  readonly after: string;
  readonly planned_at: string;
}

export class Projector<S> {
  readonly #states = new Map<number, S>();
  readonly #abort = new AbortController();
  #running?: Promise<void>;
  #deadLettered = 0;

  constructor(
    private readonly projection: Projection<S>,
    private readonly log: CommandLog,
    private readonly store: AnalyticsStore,
    private readonly options: ProjectorOptions = {},
  ) {}

  get name(): string {
    return this.projection.name;
  }

  get deadLettered(): number {
    return this.#deadLettered;
  }

  /** Restores state, replays an unfinished plan, then consumes until `stop`. */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    const { projection, log } = this;
    const name = projection.name;
    const committed = new Map(
      (await log.offsets(projection.topic, name)).map((o) => [o.partition, o.committed]),
    );
    const resumeAt = new Map<number, number>();
    for (const progress of await this.#lastProgress()) {
      const first = Number(progress.first);
      const last = Number(progress.last);
      const next = committed.get(progress.partition) ?? 0;
      if (last < next) {
        this.#states.set(progress.partition, projection.decodeState(progress.after));
        continue;
      }
      const records = await log.read(projection.topic, progress.partition, first, last - first + 1);
      if (records.length === 0) continue;
      const batch = recordBatch(projection.topic, progress.partition, records);
      const state = projection.decodeState(progress.before);
      const planNow = Number(progress.planned_at);
      const planned = projection.plan(batch, state, planNow);
      await this.#retrying(() => this.#apply(batch, planned, state, planNow, false));
      resumeAt.set(progress.partition, batch.lastOffset + 1);
    }
    const ticker = setInterval(() => this.#tick(), this.options.tickMs ?? 1000);
    try {
      // Pulled one batch at a time: the next read happens after the previous commit, so
      // records that arrive meanwhile form the next (larger) batch, and nothing queues
      // in memory. (`from(asyncIterable)` would read ahead into many tiny batches.)
      const maxRecords = this.options.maxRecords ?? 1000;
      const batches = log.consume({
        group: name,
        topic: projection.topic,
        maxRecords,
        startAt: (partition) => resumeAt.get(partition),
        signal: this.#abort.signal,
      });
      const linger = this.options.lingerMs ?? 0;
      for await (const batch of batches) {
        await this.#handle(batch);
        if (linger > 0 && batch.records.length < maxRecords) await this.#pause(linger);
      }
    } finally {
      clearInterval(ticker);
    }
  }

  #pause(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timeout = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }

  async #handle(batch: RecordBatch): Promise<void> {
    const state = this.#states.get(batch.partition) ?? this.projection.initialState();
    const now = this.options.now?.() ?? Date.now();
    let planned: PlannedBatch<S>;
    try {
      planned = this.projection.plan(batch, state, now);
    } catch (error) {
      this.options.onError?.(this.projection.name, error);
      if (batch.records.length > 1) {
        // Planning is deterministic, so retrying the batch cannot help; planning each
        // record alone isolates the one that fails and keeps the others.
        for (const record of batch.records) {
          await this.#handle(recordBatch(batch.topic, batch.partition, [record]));
        }
        return;
      }
      await this.#deadLetter(
        batch.records.map((record) => ({ record, reason: `projection failed: ${error}` })),
      );
      await this.log.commit(this.projection.name, batch.topic, batch.partition, batch.lastOffset + 1);
      return;
    }
    // A failed write is retried until it lands: valid samples are never dropped because
    // the store was failing; the stall shows as lag and errors in /metrics.
    await this.#retrying(() => this.#apply(batch, planned, state, now, true));
  }

  async #apply(
    batch: RecordBatch,
    planned: PlannedBatch<S>,
    before: S,
    planNow: number,
    recordPlan: boolean,
  ): Promise<void> {
    const { projection, store } = this;
    if (recordPlan) {
      await store.insertRows("projection_progress", [{
        consumer: projection.name,
        partition: batch.partition,
        first_offset: batch.firstOffset,
        last_offset: batch.lastOffset,
        state_before: projection.encodeState(before),
        state_after: projection.encodeState(planned.state),
        plan_now: planNow,
      }]);
    }
    for (const write of planned.writes) {
      if (write.kind === "block") await store.insertBlock(write.block, write.inserts);
      else await store.insertRows(write.table, write.rows, write.deduplicationToken);
    }
    await this.#deadLetter(planned.deadLetters);
    await this.log.commit(projection.name, batch.topic, batch.partition, batch.lastOffset + 1);
    this.#states.set(batch.partition, planned.state);
    this.options.onBatch?.(projection.name, planned.counters);
  }

  async #deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const topic = `${this.projection.topic}.dlq`;
    await this.log.ensureTopic(topic, 1);
    const encoder = new TextEncoder();
    for (const { record, reason } of letters) {
      const header = encoder.encode(
        JSON.stringify({
          projection: this.projection.name,
          partition: record.partition,
          offset: record.offset,
          reason,
        }) +
          "\n",
      );
      const value = new Uint8Array(header.length + record.value.length);
      value.set(header);
      value.set(record.value, header.length);
      await this.log.append(topic, [{ partition: 0, key: record.key, value }], {
        idempotencyKey: `${this.projection.name}:${record.topic}:${record.partition}:${record.offset}`,
      });
    }
    this.#deadLettered += letters.length;
  }

  #tick(): void {
    const now = this.options.now?.() ?? Date.now();
    for (const [partition, state] of this.#states) {
      this.#states.set(partition, this.projection.tick(state, now));
    }
  }

  async #lastProgress(): Promise<Progress[]> {
    return await this.store.query<Progress>(
      `SELECT partition, max(first_offset) AS first, argMax(last_offset, first_offset) AS last,
        argMax(state_before, first_offset) AS before, argMax(state_after, first_offset) AS after,
        argMax(plan_now, first_offset) AS planned_at
      FROM projection_progress WHERE consumer = {consumer:String} GROUP BY partition`,
      { consumer: this.projection.name },
    );
  }

  async #retrying(operation: () => Promise<void>): Promise<void> {
    await lastValueFrom(
      defer(operation).pipe(
        retry({
          delay: (error, attempt) => {
            this.options.onError?.(this.projection.name, error);
            if (this.#abort.signal.aborted) throw error;
            return timer(Math.min(100 * 2 ** attempt, 10_000));
          },
        }),
      ),
      { defaultValue: undefined },
    );
  }
}
