/**
 * Runs streaming alert evaluation as its own consumer group (`alerts`) of
 * `metrics.samples`, and hands each transition to `record` (the incident commands)
 * before committing the batch's offset.
 *
 * Restart: the windows and the alert state are rebuilt by replaying the log from
 * `replayHorizonMs` before the committed offset's time; transitions from replayed
 * records below the committed offset are not handed on again (they were), those from
 * uncommitted records are, and the incident commands derive their event ids from the
 * transition, so a transition handed on twice is recorded once. A pending timer thus
 * keeps its start across a restart, and no notification is repeated or lost.
 *
 * The group's offsets are committed at most once per `commitIntervalMs` (default 1 s), as
 * Kafka consumers auto-commit: a commit writes to the log, which on the embedded log waits
 * for the appending thread's write lock and its fsync, and the evaluator's thread would
 * wait with it once per batch. What a crash leaves uncommitted is replayed as above.
 *
 * Rule changes arrive on `metrics.commands`; the evaluator reloads the streaming rules
 * from SQL once the table has the command's version.
 */
import type { CommandLog, RecordBatch } from "../domain/ports/command-log.ts";
import type { AlertRule } from "../domain/alerting/rule.ts";
import { type GroupTransition, StreamingEvaluation } from "../domain/alerting/streaming-evaluation.ts";
import { evaluateBatch } from "../projections/alerts.ts";

export interface StreamingEvaluatorOptions {
  readonly log: CommandLog;
  readonly samplesTopic: string;
  readonly commandsTopic: string;
  readonly group?: string;
  /** The streaming rules as the SQL rules table has them, with their versions. */
  readonly loadRules: () => Promise<{ rule: AlertRule; version: number }[]>;
  /** The transitions of one evaluated batch (or tick), in the order they were decided. */
  readonly record: (transitions: readonly GroupTransition[]) => Promise<void>;
  readonly now: () => number;
  readonly tickMs?: number;
  readonly replayHorizonMs?: number;
  /** How far behind the log's appends the evaluator may fall before `caughtUp` holds callers back (default 50 ms). */
  readonly maxLagMs?: number;
  /** How long evaluated offsets may wait before they are committed (default 1000 ms). */
  readonly commitIntervalMs?: number;
  readonly onError?: (error: unknown) => void;
}

export class StreamingEvaluator {
  readonly #abort = new AbortController();
  #evaluation = new StreamingEvaluation();
  readonly #group: string;
  #versions = new Map<string, number>();
  /** Rounds of transitions are recorded one at a time, in the order they were decided. */
  #recording: Promise<void> = Promise.resolve();
  #running?: Promise<void>;
  /** Append time of the newest record evaluated less the time it was evaluated at: how far behind the log it ran. */
  #lagMs = 0;
  #caughtUp: (() => void)[] = [];
  /** Evaluated and recorded, not yet committed: the next offset per partition. */
  readonly #uncommitted = new Map<number, number>();
  #lastCommitAt = 0;
  #commitTimer?: ReturnType<typeof setTimeout>;
  #committing: Promise<void> = Promise.resolve();
  #positioned!: () => void;
  /** Resolves once the evaluator has fixed where it starts reading (and committed it for a new group). */
  readonly positioned: Promise<void> = new Promise((resolve) => this.#positioned = resolve);

  constructor(private readonly options: StreamingEvaluatorOptions) {
    this.#group = options.group ?? "alerts";
  }

  /** The version of each streaming rule being evaluated. */
  get ruleVersions(): ReadonlyMap<string, number> {
    return this.#versions;
  }

  start(): Promise<void> {
    this.#running ??= this.#runUntilStopped();
    return this.#running;
  }

  /**
   * Resolves once the evaluator runs within `maxLagMs` of the log's appends, or after
   * `maxWaitMs`, or at once without streaming rules: work sharing its thread (the read-model projectors) waits on it between
   * batches, so under load the alert path is served first and the dashboards fall
   * behind instead.
   */
  caughtUp(maxWaitMs: number): Promise<void> {
    // Without streaming rules there is no alert path to serve first.
    if (
      this.#versions.size === 0 || this.#lagMs <= (this.options.maxLagMs ?? 50) || this.#abort.signal.aborted
    ) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        this.#caughtUp = this.#caughtUp.filter((r) => r !== done);
        resolve();
      };
      const timeout = setTimeout(done, maxWaitMs);
      this.#caughtUp.push(done);
    });
  }

  #evaluated(batch: RecordBatch): void {
    const newest = batch.records[batch.records.length - 1];
    if (newest === undefined) return;
    this.#lagMs = this.options.now() - newest.timestamp;
    if (this.#lagMs <= (this.options.maxLagMs ?? 50)) this.#release();
  }

  /** Lets every caller of `caughtUp` go. */
  #release(): void {
    for (const resolve of this.#caughtUp) resolve();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#release();
    await this.#running?.catch(() => {});
    await this.#recording;
    clearTimeout(this.#commitTimer);
    await this.#commit();
  }

  /** Notes `next` as evaluated and recorded; commits now or once the interval since the last commit has passed. */
  #evaluatedThrough(partition: number, next: number): void {
    this.#uncommitted.set(partition, next);
    if (this.#commitTimer !== undefined) return;
    const wait = this.#lastCommitAt + (this.options.commitIntervalMs ?? 1000) - this.options.now();
    if (wait <= 0) {
      void this.#commit();
      return;
    }
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, wait);
  }

  /** Commits what is uncommitted, one commit after another; a failed commit is retried with the next. */
  #commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      if (this.#uncommitted.size === 0) return;
      const due = [...this.#uncommitted];
      this.#uncommitted.clear();
      this.#lastCommitAt = this.options.now();
      const { log, samplesTopic } = this.options;
      for (const [partition, next] of due) {
        try {
          await log.commit(this.#group, samplesTopic, partition, next);
        } catch (error) {
          this.options.onError?.(error);
          if (!this.#uncommitted.has(partition)) this.#uncommitted.set(partition, next);
        }
      }
    });
    return this.#committing;
  }

  /**
   * A failure of the log (a broker restarting) starts the evaluator over: fresh state,
   * rebuilt by the same replay as after a restart, so nothing is counted twice.
   */
  async #runUntilStopped(): Promise<void> {
    const commands = this.#followCommandsUntilStopped();
    for (let attempt = 0; !this.#abort.signal.aborted; attempt++) {
      try {
        await this.#run();
        break;
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.options.onError?.(error);
        // Not evaluating while it starts over: it holds no one back meanwhile.
        this.#lagMs = 0;
        this.#release();
        await this.#recording;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
        // Starting over replays from what was committed: what was recorded is committed
        // first where the log takes it, and the rest is evaluated again.
        await this.#commit();
        this.#uncommitted.clear();
        this.#evaluation = new StreamingEvaluation();
      }
    }
    await commands;
  }

  async #run(): Promise<void> {
    await this.#reload();
    const { log, samplesTopic } = this.options;
    const signal = this.#abort.signal;
    const committed = new Map<number, number>();
    const replayFrom = new Map<number, number>();
    for (const o of await log.offsets(samplesTopic, this.#group)) {
      // A group that never committed starts at the end: history from before the
      // evaluator existed only warms the windows, it is not alerted on.
      const next = o.committed ?? o.end;
      // Committed at once, so samples appended before the first batch are not skipped
      // by a restart (or left as lag) because the group had no offset yet.
      if (o.committed === undefined) await log.commit(this.#group, samplesTopic, o.partition, next);
      committed.set(o.partition, next);
      replayFrom.set(o.partition, await this.#replayStart(o.partition, o.earliest, next));
    }
    this.#positioned();
    const ticker = setInterval(() => this.#tick(), this.options.tickMs ?? 1000);
    try {
      for await (
        let batch of log.consume({
          group: this.#group,
          topic: samplesTopic,
          startAt: (partition) => replayFrom.get(partition),
          signal,
        })
      ) {
        const next = committed.get(batch.partition) ?? 0;
        if (batch.firstOffset < next) {
          // Replayed records are stepped on their own, as they were the first time, and
          // their transitions were handed on then.
          const replayed = batch.records.filter((r) => r.offset < next);
          evaluateBatch(this.#evaluation, {
            ...batch,
            records: replayed,
            lastOffset: replayed.at(-1)!.offset,
          });
          if (batch.lastOffset < next) continue;
          const fresh = batch.records.filter((r) => r.offset >= next);
          batch = { ...batch, records: fresh, firstOffset: fresh[0].offset };
        }
        const transitions = evaluateBatch(this.#evaluation, batch);
        this.#evaluated(batch);
        await this.#hand(transitions);
        this.#evaluatedThrough(batch.partition, batch.nextOffset);
      }
    } finally {
      clearInterval(ticker);
    }
  }

  /** The first offset appended within the replay horizon before the committed one (binary search on time). */
  async #replayStart(partition: number, earliest: number, committed: number): Promise<number> {
    const { log, samplesTopic } = this.options;
    if (committed <= earliest) return committed;
    const [last] = await log.read(samplesTopic, partition, committed - 1, 1);
    if (last === undefined) return committed;
    const horizon = last.timestamp - (this.options.replayHorizonMs ?? 1_800_000);
    let lo = earliest;
    let hi = committed - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [record] = await log.read(samplesTopic, partition, mid, 1);
      if (record === undefined || record.timestamp < horizon) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #tick(): void {
    const transitions = this.#evaluation.tick(this.options.now());
    if (transitions.length > 0) void this.#hand(transitions);
  }

  #hand(transitions: GroupTransition[]): Promise<void> {
    if (transitions.length === 0) return this.#recording;
    this.#recording = this.#recording.then(() => this.#retrying(() => this.options.record(transitions)));
    return this.#recording;
  }

  async #retrying(work: () => Promise<void>): Promise<void> {
    for (let attempt = 0; !this.#abort.signal.aborted || attempt === 0; attempt++) {
      try {
        return await work();
      } catch (error) {
        this.options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 50 * 2 ** attempt)));
      }
    }
  }

  async #followCommandsUntilStopped(): Promise<void> {
    for (let attempt = 0; !this.#abort.signal.aborted; attempt++) {
      try {
        return await this.#followCommands();
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  async #followCommands(): Promise<void> {
    const { log, commandsTopic } = this.options;
    const ends = new Map((await log.offsets(commandsTopic)).map((o) => [o.partition, o.end]));
    for await (
      const batch of log.consume({
        group: `${this.#group}-rules`,
        topic: commandsTopic,
        startAt: (partition) => ends.get(partition),
        signal: this.#abort.signal,
      })
    ) {
      await this.#awaitVersions(batch);
      await log.commit(`${this.#group}-rules`, commandsTopic, batch.partition, batch.nextOffset);
    }
  }

  /** Reloads until the table shows every rule of the batch at (at least) its command's version. */
  async #awaitVersions(batch: RecordBatch): Promise<void> {
    const wanted = batch.records.map((r) => JSON.parse(new TextDecoder().decode(r.value)) as RuleChange);
    for (let attempt = 0; attempt < 100 && !this.#abort.signal.aborted; attempt++) {
      await this.#reload();
      const settled = wanted.every((c) => {
        const version = this.#versions.get(c.data.ruleId);
        const streaming = c.type !== "DeleteRule" && c.data.spec?.mode === "streaming";
        return streaming ? (version ?? 0) >= c.version : version === undefined;
      });
      if (settled) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #reload(): Promise<void> {
    const loaded = await this.options.loadRules();
    this.#versions = new Map(loaded.map(({ rule, version }) => [rule.id, version]));
    this.#evaluation.setRules(loaded.map(({ rule }) => rule));
  }
}

interface RuleChange {
  readonly type: string;
  readonly data: { readonly ruleId: string; readonly spec?: { readonly mode?: string } };
  readonly version: number;
}
