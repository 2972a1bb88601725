/**
 * Rebuilds a read model (raw or rollup) from the command log while the live one keeps
 * answering queries: the log is replayed from each partition's earliest retained offset
 * into shadow tables (`<table>_rebuild`, created `AS` the live ones), catching up with
 * the live projector's committed offsets pass by pass; then the live projector is held
 * between batches, the last records are replayed up to exactly its committed offsets,
 * both sides are summarised for the report, and `EXCHANGE TABLES` swaps every table of
 * the model in one statement (tables derived from the model's, such as the packed days
 * of the 1h tier, are swapped for empty copies in the same statement, to be derived
 * again from the rebuilt ones). The projector then goes on writing into the rebuilt
 * tables from where it stood, so nothing is lost or counted twice.
 *
 * Each replayed batch is planned with its last record's append time as `now`, the
 * moment the live projector saw it, so lateness is judged as it was then.
 *
 * @example
 * const rebuilds = new ReadModelRebuilds({ log, store, topic, models: { rollup: { ... } } });
 * rebuilds.start("rollup"); // then poll rebuilds.status()
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { type CommandLog, recordBatch } from "../domain/ports/command-log.ts";
import { Conflict } from "../domain/errors.ts";
import type { Projection, TableNames } from "../projections/projection.ts";

export type RebuildModel = "raw" | "rollup";

export interface RebuildTarget {
  /** The live projector's consumer group. */
  readonly group: string;
  readonly tables: readonly string[];
  /** Tables derived from those, swapped for empty copies with them and filled again after. */
  readonly cleared?: readonly string[];
  /** One summary query per table, `{table}` standing for its name; equal summaries mean equal tables. */
  readonly summary: (table: string) => string;
  /** A fresh projection writing into the given tables. */
  readonly projection: (tables: TableNames) => Projection<unknown>;
  /** The live projector of this process, held while the tables are swapped. */
  readonly live: { pause(): Promise<void>; resume(): void };
}

export interface TableComparison {
  readonly table: string;
  readonly live: Record<string, unknown>;
  readonly rebuilt: Record<string, unknown>;
  readonly equal: boolean;
}

export interface RebuildStatus {
  readonly model: RebuildModel;
  readonly state: "replaying" | "swapping" | "done" | "failed";
  readonly startedAt: number;
  readonly finishedAt?: number;
  /** Records replayed, and records to replay up to the live projector's current offsets. */
  readonly records: { readonly done: number; readonly total: number };
  readonly passes: number;
  readonly comparison?: readonly TableComparison[];
  readonly error?: string;
}

export interface ReadModelRebuildOptions {
  readonly log: CommandLog;
  readonly store: AnalyticsStore;
  readonly topic: string;
  /** The models whose projector runs in this process. */
  readonly models: Partial<Record<RebuildModel, RebuildTarget>>;
  readonly batchRecords?: number;
  /** The live projector is held once a pass replays fewer records than this. */
  readonly holdBelowRecords?: number;
  readonly now?: () => number;
}

const SHADOW_SUFFIX = "_rebuild";
const MAX_PASSES = 50;

export class ReadModelRebuilds {
  #status?: RebuildStatus;
  #running?: Promise<void>;

  constructor(private readonly options: ReadModelRebuildOptions) {}

  status(): RebuildStatus | undefined {
    return this.#status;
  }

  /** Starts a rebuild in the background; `Conflict` while one runs or when this process lacks the model. */
  start(model: RebuildModel): RebuildStatus {
    const target = this.options.models[model];
    if (!target) {
      throw new Conflict(`Cannot rebuild ${model}: this process does not run the ${model} projector`);
    }
    if (this.#status && (this.#status.state === "replaying" || this.#status.state === "swapping")) {
      throw new Conflict(`Cannot rebuild ${model}: a rebuild of ${this.#status.model} is running`);
    }
    const now = this.options.now ?? Date.now;
    this.#status = { model, state: "replaying", startedAt: now(), records: { done: 0, total: 0 }, passes: 0 };
    this.#running = this.#run(target).catch((error) => {
      this.#update({ state: "failed", finishedAt: now(), error: String(error?.message ?? error) });
    });
    return this.#status;
  }

  /** Resolves when the rebuild in progress, if any, has ended. */
  async settled(): Promise<void> {
    await this.#running;
  }

  async #run(target: RebuildTarget): Promise<void> {
    const { store } = this.options;
    const shadow = (table: string) => table + SHADOW_SUFFIX;
    const swapped = [...target.tables, ...(target.cleared ?? [])];
    for (const table of swapped) {
      await store.command(`DROP TABLE IF EXISTS ${shadow(table)} SYNC`);
      await store.command(`CREATE TABLE ${shadow(table)} AS ${table}`);
    }
    const replay = new Replay(
      this.options,
      target.projection(shadow),
      (done, total) => this.#update({ records: { done, total } }),
    );
    await replay.start(target.group);
    const holdBelow = this.options.holdBelowRecords ?? 10_000;
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      const replayed = await replay.pass(target.group);
      this.#update({ passes: pass });
      if (replayed < holdBelow) break;
    }
    this.#update({ state: "swapping" });
    await target.live.pause();
    try {
      await replay.pass(target.group);
      const comparison: TableComparison[] = [];
      for (const table of target.tables) {
        const [live] = await store.query<Record<string, unknown>>(target.summary(table));
        const [rebuilt] = await store.query<Record<string, unknown>>(target.summary(shadow(table)));
        comparison.push({ table, live, rebuilt, equal: JSON.stringify(live) === JSON.stringify(rebuilt) });
      }
      this.#update({ comparison });
      // One statement: queries see either every old table or every rebuilt one.
      await store.command(`EXCHANGE TABLES ${swapped.map((t) => `${t} AND ${shadow(t)}`).join(", ")}`);
    } finally {
      target.live.resume();
    }
    for (const table of swapped) await store.command(`DROP TABLE IF EXISTS ${shadow(table)}`);
    this.#update({ state: "done", finishedAt: (this.options.now ?? Date.now)() });
  }

  #update(change: Partial<RebuildStatus>): void {
    if (this.#status) this.#status = { ...this.#status, ...change };
  }
}

/** Replays partitions into a projection's tables, each up to the group's committed offset. */
class Replay {
  readonly #position = new Map<number, number>();
  readonly #state = new Map<number, unknown>();
  #done = 0;
  #start = 0;

  constructor(
    private readonly options: ReadModelRebuildOptions,
    private readonly projection: Projection<unknown>,
    private readonly progress: (done: number, total: number) => void,
  ) {}

  async start(group: string): Promise<void> {
    for (const o of await this.options.log.offsets(this.options.topic, group)) {
      this.#position.set(o.partition, o.earliest);
      this.#start += o.earliest;
    }
  }

  /** One pass over every partition up to the group's committed offsets; the records replayed. */
  async pass(group: string): Promise<number> {
    const { log, topic } = this.options;
    const offsets = await log.offsets(topic, group);
    const targets = new Map(offsets.map((o) => [o.partition, o.committed ?? o.earliest]));
    const total = offsets.reduce((sum, o) => sum + (o.committed ?? o.earliest), 0) - this.#start;
    let replayed = 0;
    for (const [partition, target] of targets) {
      replayed += await this.#partition(partition, target, total);
    }
    this.progress(this.#done, total);
    return replayed;
  }

  async #partition(partition: number, target: number, total: number): Promise<number> {
    const { log, topic, store } = this.options;
    const max = this.options.batchRecords ?? 5000;
    let replayed = 0;
    let position = this.#position.get(partition) ?? 0;
    while (position < target) {
      const records = (await log.read(topic, partition, position, Math.min(max, target - position)))
        .filter((r) => r.offset < target);
      if (records.length === 0) break;
      const batch = recordBatch(topic, partition, records);
      const state = this.#state.get(partition) ?? this.projection.initialState();
      const planned = this.projection.plan(batch, state, records[records.length - 1].timestamp);
      for (const write of planned.writes) {
        if (write.kind === "block") await store.insertBlock(write.block, write.inserts);
        else await store.insertRows(write.table, write.rows, write.deduplicationToken);
      }
      this.#state.set(partition, planned.state);
      position = batch.lastOffset + 1;
      replayed += records.length;
      this.#done += records.length;
      this.progress(this.#done, total);
    }
    this.#position.set(partition, position);
    return replayed;
  }
}
