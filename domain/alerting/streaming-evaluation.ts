/**
 * Streaming evaluation of alert rules: samples are added to the window of every group
 * they feed (through the rule index), and each group touched by a batch is stepped once
 * at its newest event time, so the same log replayed gives the same transitions. A tick
 * with processing time steps every group, for what only the passage of time can show:
 * a window that emptied (recovery when samples stop, or no-data).
 *
 * A rule whose definition changes starts its groups afresh; an unchanged rule keeps
 * them across `setRules`. Which groups a series feeds is worked out once per series and
 * remembered until the rules change. (That memory grows with the series seen; the
 * ingest limits on active series bound it.)
 *
 * Groups are numbers: their windows share one `WindowArena`, a series' groups are a run
 * of numbers in one `Int32Array`, and a tenant's series are found in an open-addressing
 * table on their id words, so a sample costs one probe per record and one window add
 * per group it feeds, with nothing allocated.
 *
 * @example
 * const evaluation = new StreamingEvaluation(rules);
 * evaluation.observe(batch);
 * for (const t of evaluation.evaluate()) record(t);
 * for (const t of evaluation.tick(now)) record(t);
 */
import { type SampleBatch, seriesWords } from "../sample-batch.ts";
import { grownCopy } from "../typed-arrays.ts";
import {
  advanceGroup,
  type AlertTransition,
  initialGroupState,
  type MutableGroupState,
} from "./alert-state.ts";
import { WindowArena } from "./group-window.ts";
import { type AlertGroup, groupOf, matches, RuleIndex } from "./rule-index.ts";
import type { AlertRule } from "./rule.ts";

export interface GroupTransition {
  readonly rule: AlertRule;
  readonly group: AlertGroup;
  readonly transition: AlertTransition;
}

/** Where the group list of a series starts in the evaluation's lists, by the two words of its id. */
class SeriesTable {
  #keys = new Uint32Array(2 * 1024);
  /** −1 for an empty slot. */
  #starts = new Int32Array(1024).fill(-1);
  #size = 0;

  find(lo: number, hi: number): number {
    const mask = this.#starts.length - 1, keys = this.#keys, starts = this.#starts;
    for (let i = slotOf(lo, hi, mask);; i = (i + 1) & mask) {
      const start = starts[i];
      if (start < 0 || (keys[2 * i] === lo && keys[2 * i + 1] === hi)) return start;
    }
  }

  /** For a series `find` did not find. */
  insert(lo: number, hi: number, start: number): void {
    if (2 * (this.#size + 1) > this.#starts.length) this.#rehash();
    this.#put(lo, hi, start);
    this.#size++;
  }

  #put(lo: number, hi: number, start: number): void {
    const mask = this.#starts.length - 1;
    let i = slotOf(lo, hi, mask);
    while (this.#starts[i] >= 0) i = (i + 1) & mask;
    this.#keys[2 * i] = lo;
    this.#keys[2 * i + 1] = hi;
    this.#starts[i] = start;
  }

  #rehash(): void {
    const keys = this.#keys, starts = this.#starts;
    this.#keys = new Uint32Array(2 * keys.length);
    this.#starts = new Int32Array(2 * starts.length).fill(-1);
    for (let i = 0; i < starts.length; i++) {
      if (starts[i] >= 0) this.#put(keys[2 * i], keys[2 * i + 1], starts[i]);
    }
  }
}

function groupKey(rule: AlertRule, group: AlertGroup): string {
  return `${rule.id}\u0000${group.key}`;
}

function slotOf(lo: number, hi: number, mask: number): number {
  return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 7) & mask;
}

export class StreamingEvaluation {
  #index: RuleIndex;
  #windows = new WindowArena();
  /** Per group number: its rule, its group, its state (owned here, stepped in place). */
  #rule: AlertRule[] = [];
  #group: AlertGroup[] = [];
  #state: MutableGroupState[] = [];
  /** Per group number: the event time of its last step, and whether a batch touched it since. */
  #lastAt = new Float64Array(1024);
  #isTouched = new Uint8Array(1024);
  #byKey = new Map<string, number>();
  #touched = new Int32Array(1024);
  #touchedLength = 0;
  /** The transitions of one step, reused: most steps have none. */
  readonly #stepped: AlertTransition[] = [];
  /**
   * Runs of [count, group numbers…]; a series' entry in its tenant's table is where its
   * run starts. Position 0 is the empty run, shared by every series that feeds nothing.
   */
  #lists = new Int32Array(1024);
  #listsLength = 1;
  /** Tenant → the series seen and where their runs start: a known series is never decoded again. */
  readonly #bySeries = new Map<string, SeriesTable>();
  /** Per series of the batch being observed, where its run starts. */
  #runOf = new Int32Array(1024);

  constructor(rules: readonly AlertRule[] = []) {
    this.#index = new RuleIndex(rules);
  }

  get rules(): readonly AlertRule[] {
    return this.#index.rules;
  }

  get groupCount(): number {
    return this.#windows.length;
  }

  setRules(rules: readonly AlertRule[]): void {
    const kept = new Map(rules.map((r) => [r.id, JSON.stringify(r.spec)]));
    const windows = this.#windows, rule = this.#rule, group = this.#group, state = this.#state;
    const lastAt = this.#lastAt;
    this.#windows = new WindowArena();
    this.#rule = [];
    this.#group = [];
    this.#state = [];
    this.#lastAt = new Float64Array(1024);
    this.#isTouched = new Uint8Array(1024);
    this.#byKey.clear();
    this.#touchedLength = 0;
    for (let g = 0; g < windows.length; g++) {
      if (kept.get(rule[g].id) !== JSON.stringify(rule[g].spec)) continue;
      const own = this.#adopt(rule[g], group[g], state[g], this.#windows.adopt(windows, g));
      this.#lastAt[own] = lastAt[g];
    }
    this.#index = new RuleIndex(rules);
    this.#bySeries.clear();
    this.#listsLength = 1;
  }

  observe(batch: SampleBatch): void {
    // The id words, not `batch.series`: a decoded record makes no object per series
    // until a series is new here.
    const words = seriesWords(batch);
    const nSeries = words.length >>> 1;
    let known = this.#bySeries.get(batch.tenant);
    if (known === undefined) this.#bySeries.set(batch.tenant, known = new SeriesTable());
    if (this.#runOf.length < nSeries) this.#runOf = new Int32Array(Math.max(nSeries, 2 * this.#runOf.length));
    const runOf = this.#runOf;
    for (let s = 0; s < nSeries; s++) {
      const lo = words[2 * s], hi = words[2 * s + 1];
      let start = known.find(lo, hi);
      if (start < 0) known.insert(lo, hi, start = this.#runFor(batch, s));
      runOf[s] = start;
    }
    const { seriesIndex, timestamps, values, length } = batch;
    const lists = this.#lists, windows = this.#windows;
    for (let i = 0; i < length; i++) {
      const start = runOf[seriesIndex[i]];
      const end = start + lists[start];
      for (let k = start + 1; k <= end; k++) {
        const g = lists[k];
        windows.add(g, timestamps[i], values[i]);
        if (this.#isTouched[g] === 0) this.#touch(g);
      }
    }
  }

  /** Steps every group touched since the last call at its newest event time. */
  evaluate(): GroupTransition[] {
    const out: GroupTransition[] = [];
    const touched = this.#touched, windows = this.#windows;
    for (let i = 0; i < this.#touchedLength; i++) {
      const g = touched[i];
      this.#isTouched[g] = 0;
      const newest = windows.newest(g);
      if (newest > this.#lastAt[g]) this.#step(g, newest, out);
    }
    this.#touchedLength = 0;
    return out;
  }

  /** Steps every group at processing time `now` (never before its last evaluation). */
  tick(now: number): GroupTransition[] {
    const out: GroupTransition[] = [];
    for (let g = 0; g < this.#windows.length; g++) this.#step(g, Math.max(now, this.#lastAt[g]), out);
    return out;
  }

  #touch(g: number): void {
    this.#isTouched[g] = 1;
    if (this.#touchedLength === this.#touched.length) {
      this.#touched = grownCopy(this.#touched, 2 * this.#touched.length);
    }
    this.#touched[this.#touchedLength++] = g;
  }

  /** The run of the groups series `s` of the batch feeds, with those groups made where new. */
  #runFor(batch: SampleBatch, s: number): number {
    const series = batch.series[s];
    const groups: number[] = [];
    for (const rule of this.#index.candidates(batch.tenant, series.metric, series.labels)) {
      if (matches(rule, series.labels)) groups.push(this.#track(rule, series.labels, batch));
    }
    if (groups.length === 0) return 0;
    const start = this.#listsLength;
    if (start + 1 + groups.length > this.#lists.length) {
      this.#lists = grownCopy(this.#lists, Math.max(2 * this.#lists.length, start + 1 + groups.length));
    }
    this.#lists[start] = groups.length;
    this.#lists.set(groups, start + 1);
    this.#listsLength = start + 1 + groups.length;
    return start;
  }

  #step(g: number, at: number, out: GroupTransition[]): void {
    const rule = this.#rule[g];
    const value = this.#windows.aggregate(g, at - rule.evaluationDelayMs);
    const stepped = this.#stepped;
    advanceGroup(rule, this.#state[g], at, value, stepped);
    this.#lastAt[g] = at;
    if (stepped.length === 0) return;
    for (const transition of stepped) out.push({ rule, group: this.#group[g], transition });
    stepped.length = 0;
  }

  #track(rule: AlertRule, labels: SampleBatch["series"][number]["labels"], batch: SampleBatch): number {
    const group = groupOf(rule, labels);
    const g = this.#byKey.get(groupKey(rule, group));
    if (g !== undefined) return g;
    const since = batch.length > 0 ? batch.timestamps[0] : 0;
    const own = this.#adopt(
      rule,
      group,
      { ...initialGroupState(since) },
      this.#windows.create(rule.windowMs, rule.agg),
    );
    this.#lastAt[own] = -Infinity;
    return own;
  }

  /** Files group number `g` of the window arena under its rule and group. */
  #adopt(rule: AlertRule, group: AlertGroup, state: MutableGroupState, g: number): number {
    this.#rule[g] = rule;
    this.#group[g] = group;
    this.#state[g] = state;
    this.#byKey.set(groupKey(rule, group), g);
    if (g === this.#lastAt.length) {
      this.#lastAt = grownCopy(this.#lastAt, 2 * g);
      this.#isTouched = grownCopy(this.#isTouched, 2 * g);
    }
    return g;
  }
}
