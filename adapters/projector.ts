/**
 * Runs a projection as a consumer group of the command log: plan a batch, record the
 * plan in `projection_progress`, write it to the analytics store, then commit the
 * offset. A crash anywhere in between replays the recorded plan exactly (same records,
 * same state, same `now`), so the store's deduplication tokens drop what had landed:
 * no sample lost, none counted twice.
 *
 * Each batch's writes run inside `defer` + `retry` with capped backoff, so a store
 * outage pauses the stream instead of ending it or dropping data. A record that cannot
 * be decoded, or whose planning keeps failing (`maxTries`), goes to the dead-letter
 * topic `<topic>.dlq` with its reason, and the stream goes on.
 */
import { defer, lastValueFrom, retry, timer } from "rxjs";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { type CommandLog, type RecordBatch, recordBatch } from "../domain/ports/command-log.ts";
import type { BatchCounters, DeadLetter, PlannedBatch, Projection } from "../projections/projection.ts";
import { deadLetter } from "./dead-letter-topic.ts";
import { type JournaledPlan, PlanJournal } from "./plan-journal.ts";

export interface ProjectorOptions {
  readonly maxRecords?: number;
  /**
   * Pause after a batch smaller than `maxRecords`, so the next one gathers more records:
   * every batch writes a few ClickHouse parts whose fixed cost (about 20–30 ms CPU each)
   * dwarfs the rows of a small batch. 0 pulls at once.
   */
  readonly lingerMs?: number;
  /**
   * Times a record is planned before it goes to the dead-letter topic (default 3); a
   * batch that fails is first split into its records.
   */
  readonly maxTries?: number;
  readonly now?: () => number;
  readonly onBatch?: (projection: string, counters: BatchCounters) => void;
  readonly onError?: (projection: string, error: unknown) => void;
  readonly tickMs?: number;
  /** Awaited before each batch: work that must go first on this thread (the alert path) holds the projector back. */
  readonly yieldTo?: () => Promise<void>;
}

export class Projector<S> {
  readonly #states = new Map<number, S>();
  /** Per partition, the offset after the last batch handled, to notice a partition that moved here. */
  readonly #next = new Map<number, number>();
  readonly #abort = new AbortController();
  #running?: Promise<void>;
  #deadLettered = 0;
  /** The batch being handled, so `pause` can wait for it. */
  #busy: Promise<void> = Promise.resolve();
  #gate?: { readonly opened: Promise<void>; readonly open: () => void };
  readonly #journal: PlanJournal;

  constructor(
    private readonly projection: Projection<S>,
    private readonly log: CommandLog,
    private readonly store: AnalyticsStore,
    private readonly options: ProjectorOptions = {},
  ) {
    this.#journal = new PlanJournal(store, projection.name);
  }

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
    this.resume();
    await this.#running?.catch(() => {});
  }

  /**
   * Holds the next batch and resolves once the batch in hand is written and committed,
   * so the group's committed offsets stand still until `resume` (a read-model rebuild
   * catches up to them and swaps its tables in meanwhile).
   */
  async pause(): Promise<void> {
    if (!this.#gate) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => open = resolve);
      this.#gate = { opened, open };
    }
    await this.#busy.catch(() => {});
  }

  resume(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }

  async #run(): Promise<void> {
    const { projection, log } = this;
    const name = projection.name;
    // No replay here: the first batch of each partition goes through #resume, which
    // restores the partition's state and applies an unfinished plan again. Deciding it
    // per batch, not at start, keeps it right when other members of the group are
    // running and moving the committed offsets meanwhile.
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
        signal: this.#abort.signal,
      });
      const linger = this.options.lingerMs ?? 0;
      for await (const batch of batches) {
        await this.options.yieldTo?.();
        while (this.#gate) await this.#gate.opened;
        this.#busy = this.#handle(batch);
        await this.#busy;
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

  /** Applies a recorded plan again, exactly; the next offset, or undefined when its records are gone. */
  async #replay(partition: number, progress: JournaledPlan): Promise<number | undefined> {
    const first = Number(progress.first);
    const last = Number(progress.last);
    // Offsets need not be dense (Kafka's transaction markers take some), so the read
    // may reach past the plan's last record.
    const records = (await this.log.read(this.projection.topic, partition, first, last - first + 1))
      .filter((record) => record.offset <= last);
    if (records.length === 0) return undefined;
    const batch = recordBatch(this.projection.topic, partition, records);
    const state = this.projection.decodeState(progress.before);
    const planNow = Number(progress.planned_at);
    const planned = this.projection.plan(batch, state, planNow);
    await this.#retrying(() => this.#apply(batch, planned, state, planNow, false));
    return batch.lastOffset + 1;
  }

  /**
   * Before a batch that does not follow the last one this projector handled on its
   * partition (the group gave it the partition in a rebalance, from a member that may
   * have written batches without committing them, or whose commits Kafka refused while
   * the group rebalanced): apply again, exactly and in order, every recorded plan that
   * reaches the batch's first offset or lies past it, so their deduplication tokens
   * match what the other member wrote, and take the state the last of them left (or
   * the one before the batch, when none reaches it). Returns the batch's records past
   * those plans.
   */
  async #resume(batch: RecordBatch): Promise<RecordBatch | undefined> {
    this.#next.set(batch.partition, batch.firstOffset);
    const { previous, plans } = await this.#journal.from(batch.partition, batch.firstOffset);
    if (previous) this.#states.set(batch.partition, this.projection.decodeState(previous.after));
    let next = batch.firstOffset;
    for (const plan of plans) {
      // A plan whose records are gone (retention) cannot be replayed; its state stands.
      if (await this.#replay(batch.partition, plan) === undefined) {
        this.#states.set(batch.partition, this.projection.decodeState(plan.after));
      }
      next = Number(plan.last) + 1;
    }
    if (plans.length === 0) return batch;
    const rest = batch.records.filter((record) => record.offset >= next);
    if (rest.length > 0) return recordBatch(batch.topic, batch.partition, rest, batch.nextOffset);
    if (batch.nextOffset > next) {
      // The plans end inside this batch, before its trailing transaction markers: commit
      // past those, or the group would stay one marker behind the end.
      await this.#retrying(() =>
        this.log.commit(this.projection.name, batch.topic, batch.partition, batch.nextOffset)
      );
      next = batch.nextOffset;
    }
    // Past this batch when the plans reach beyond it: the next batch resumes again.
    this.#next.set(batch.partition, next);
    return undefined;
  }

  async #handle(next: RecordBatch): Promise<void> {
    let batch: RecordBatch | undefined = next;
    if (this.#next.get(batch.partition) !== batch.firstOffset) batch = await this.#resume(batch);
    if (!batch) return;
    const state = this.#states.get(batch.partition) ?? this.projection.initialState();
    const now = this.options.now?.() ?? Date.now();
    // A batch is planned once: when that fails, each record is planned alone, which
    // isolates the failing one and keeps the others. A record alone gets `maxTries`.
    const tries = batch.records.length > 1 ? 1 : this.options.maxTries ?? 3;
    let planned: PlannedBatch<S> | undefined;
    let failure: unknown;
    for (let attempt = 0; attempt < tries && !planned; attempt++) {
      try {
        planned = this.projection.plan(batch, state, now);
      } catch (error) {
        failure = error;
        this.options.onError?.(this.projection.name, error);
      }
    }
    if (!planned) {
      if (batch.records.length > 1) {
        for (const [i, record] of batch.records.entries()) {
          const next = batch.records[i + 1]?.offset ?? batch.nextOffset;
          await this.#handle(recordBatch(batch.topic, batch.partition, [record], next));
        }
        return;
      }
      const reason = `projection failed ${tries} ${tries === 1 ? "time" : "times"}: ${failure}`;
      await this.#deadLetter(batch.records.map((record) => ({ record, reason })));
      await this.log.commit(this.projection.name, batch.topic, batch.partition, batch.nextOffset);
      this.#next.set(batch.partition, batch.nextOffset);
      return;
    }
    const plan = planned;
    // A failed write is retried until it lands: valid samples are never dropped because
    // the store was failing; the stall shows as lag and errors in /metrics.
    // A write error cannot tell a poison record from a store outage, and dead-lettering
    // a valid batch would lose it, so writes are not counted against `maxTries`.
    await this.#retrying(() => this.#apply(batch, plan, state, now, true));
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
      await this.#journal.record({
        partition: batch.partition,
        first: batch.firstOffset,
        last: batch.lastOffset,
        before: projection.encodeState(before),
        after: projection.encodeState(planned.state),
        now: planNow,
      });
    }
    for (const write of planned.writes) {
      if (write.kind === "block") await store.insertBlock(write.block, write.inserts);
      else await store.insertRows(write.table, write.rows, write.deduplicationToken);
    }
    planned.stored?.();
    await this.#deadLetter(planned.deadLetters);
    await this.log.commit(projection.name, batch.topic, batch.partition, batch.nextOffset);
    this.#next.set(batch.partition, batch.nextOffset);
    this.#states.set(batch.partition, planned.state);
    this.options.onBatch?.(projection.name, planned.counters);
  }

  async #deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    await deadLetter(this.log, this.projection.name, this.projection.topic, letters);
    this.#deadLettered += letters.length;
  }

  #tick(): void {
    const now = this.options.now?.() ?? Date.now();
    for (const [partition, state] of this.#states) {
      this.#states.set(partition, this.projection.tick(state, now));
    }
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
