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
 * @example
 * const evaluation = new StreamingEvaluation(rules);
 * evaluation.observe(batch);
 * for (const t of evaluation.evaluate()) record(t);
 * for (const t of evaluation.tick(now)) record(t);
 */
import { type SampleBatch, seriesWords } from "../sample-batch.ts";
import {
  advanceGroup,
  type AlertTransition,
  initialGroupState,
  type MutableGroupState,
} from "./alert-state.ts";
import { GroupWindow } from "./group-window.ts";
import { type AlertGroup, groupOf, matches, RuleIndex } from "./rule-index.ts";
import type { AlertRule } from "./rule.ts";

export interface GroupTransition {
  readonly rule: AlertRule;
  readonly group: AlertGroup;
  readonly transition: AlertTransition;
}

/** A series seen before, in the chain of those sharing its id's low word. */
interface KnownSeries {
  readonly hi: number;
  readonly groups: TrackedGroup[];
  readonly next: KnownSeries | undefined;
}

interface TrackedGroup {
  readonly rule: AlertRule;
  readonly group: AlertGroup;
  readonly window: GroupWindow;
  /** Owned by this evaluation and stepped in place. */
  readonly state: MutableGroupState;
  lastAt: number;
  touched: boolean;
}

export class StreamingEvaluation {
  #index: RuleIndex;
  readonly #groups = new Map<string, TrackedGroup>();
  readonly #touched: TrackedGroup[] = [];
  /** The transitions of one step, reused: most steps have none. */
  readonly #stepped: AlertTransition[] = [];
  /**
   * Tenant → low word of the series id → (high word, groups it feeds): a known series
   * costs one look-up on a number per record, and its name and labels are never
   * decoded again.
   */
  readonly #bySeries = new Map<string, Map<number, KnownSeries>>();

  constructor(rules: readonly AlertRule[] = []) {
    this.#index = new RuleIndex(rules);
  }

  get rules(): readonly AlertRule[] {
    return this.#index.rules;
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  setRules(rules: readonly AlertRule[]): void {
    const kept = new Map(rules.map((r) => [r.id, JSON.stringify(r.spec)]));
    for (const [key, tracked] of this.#groups) {
      if (kept.get(tracked.rule.id) !== JSON.stringify(tracked.rule.spec)) this.#groups.delete(key);
    }
    this.#index = new RuleIndex(rules);
    this.#bySeries.clear();
  }

  observe(batch: SampleBatch): void {
    // The id words, not `batch.series`: a decoded record makes no object per series
    // until a series is new here.
    const words = seriesWords(batch);
    const nSeries = words.length >>> 1;
    let known = this.#bySeries.get(batch.tenant);
    if (known === undefined) this.#bySeries.set(batch.tenant, known = new Map());
    const perSeries: (TrackedGroup[] | undefined)[] = new Array(nSeries);
    for (let s = 0; s < nSeries; s++) {
      const lo = words[2 * s], hi = words[2 * s + 1];
      let entry = known.get(lo);
      while (entry !== undefined && entry.hi !== hi) entry = entry.next;
      let tracked = entry?.groups;
      if (tracked === undefined) {
        tracked = this.#groupsOf(batch, s);
        known.set(lo, { hi, groups: tracked, next: known.get(lo) });
      }
      if (tracked.length > 0) perSeries[s] = tracked;
    }
    const { seriesIndex, timestamps, values, length } = batch;
    const touched = this.#touched;
    for (let i = 0; i < length; i++) {
      const tracked = perSeries[seriesIndex[i]];
      if (tracked === undefined) continue;
      for (let g = 0; g < tracked.length; g++) {
        const t = tracked[g];
        t.window.add(timestamps[i], values[i]);
        if (!t.touched) {
          t.touched = true;
          touched.push(t);
        }
      }
    }
  }

  /** Steps every group touched since the last call at its newest event time. */
  evaluate(): GroupTransition[] {
    const out: GroupTransition[] = [];
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) {
      const t = touched[i];
      t.touched = false;
      if (t.window.newest > t.lastAt) this.#step(t, t.window.newest, out);
    }
    touched.length = 0;
    return out;
  }

  /** Steps every group at processing time `now` (never before its last evaluation). */
  tick(now: number): GroupTransition[] {
    const out: GroupTransition[] = [];
    for (const t of this.#groups.values()) this.#step(t, Math.max(now, t.lastAt), out);
    return out;
  }

  /** The groups series `s` of the batch feeds, made where new. */
  #groupsOf(batch: SampleBatch, s: number): TrackedGroup[] {
    const series = batch.series[s];
    const groups: TrackedGroup[] = [];
    for (const rule of this.#index.candidates(batch.tenant, series.metric, series.labels)) {
      if (matches(rule, series.labels)) groups.push(this.#track(rule, series.labels, batch));
    }
    return groups;
  }

  #step(t: TrackedGroup, at: number, out: GroupTransition[]): void {
    const value = t.window.aggregate(at - t.rule.evaluationDelayMs);
    const stepped = this.#stepped;
    advanceGroup(t.rule, t.state, at, value, stepped);
    t.lastAt = at;
    if (stepped.length === 0) return;
    for (const transition of stepped) out.push({ rule: t.rule, group: t.group, transition });
    stepped.length = 0;
  }

  #track(rule: AlertRule, labels: SampleBatch["series"][number]["labels"], batch: SampleBatch): TrackedGroup {
    const group = groupOf(rule, labels);
    const key = `${rule.id}\u0000${group.key}`;
    let tracked = this.#groups.get(key);
    if (tracked === undefined) {
      const since = batch.length > 0 ? batch.timestamps[0] : 0;
      tracked = {
        rule,
        group,
        window: new GroupWindow(rule.windowMs, rule.agg),
        state: { ...initialGroupState(since) },
        lastAt: -Infinity,
        touched: false,
      };
      this.#groups.set(key, tracked);
    }
    return tracked;
  }
}
