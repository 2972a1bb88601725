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
import type { SampleBatch } from "../sample-batch.ts";
import { type AlertTransition, type GroupState, initialGroupState, stepGroup } from "./alert-state.ts";
import { GroupWindow } from "./group-window.ts";
import { type AlertGroup, groupOf, matches, RuleIndex } from "./rule-index.ts";
import type { AlertRule } from "./rule.ts";

export interface GroupTransition {
  readonly rule: AlertRule;
  readonly group: AlertGroup;
  readonly transition: AlertTransition;
}

interface KnownSeries {
  readonly hi: number;
  readonly groups: TrackedGroup[];
}

interface TrackedGroup {
  readonly rule: AlertRule;
  readonly group: AlertGroup;
  readonly window: GroupWindow;
  state: GroupState;
  lastAt: number;
  touched: boolean;
}

export class StreamingEvaluation {
  #index: RuleIndex;
  readonly #groups = new Map<string, TrackedGroup>();
  readonly #touched: TrackedGroup[] = [];
  /**
   * Tenant → low word of the series id → (high word, groups it feeds): a known series
   * costs two look-ups on numbers, and its name and labels are never decoded again.
   */
  readonly #bySeries = new Map<string, Map<number, KnownSeries[]>>();

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
    const perSeries: (TrackedGroup[] | undefined)[] = new Array(batch.series.length);
    for (let s = 0; s < batch.series.length; s++) {
      const series = batch.series[s];
      let tracked = this.#known(batch.tenant, series.id.lo, series.id.hi);
      if (tracked === undefined) {
        tracked = [];
        for (const rule of this.#index.candidates(batch.tenant, series.metric, series.labels)) {
          if (matches(rule, series.labels)) tracked.push(this.#track(rule, series.labels, batch));
        }
        this.#remember(batch.tenant, series.id.lo, series.id.hi, tracked);
      }
      if (tracked.length > 0) perSeries[s] = tracked;
    }
    for (let i = 0; i < batch.length; i++) {
      const tracked = perSeries[batch.seriesIndex[i]];
      if (tracked === undefined) continue;
      for (const t of tracked) {
        t.window.add(batch.timestamps[i], batch.values[i]);
        if (!t.touched) {
          t.touched = true;
          this.#touched.push(t);
        }
      }
    }
  }

  /** Steps every group touched since the last call at its newest event time. */
  evaluate(): GroupTransition[] {
    const out: GroupTransition[] = [];
    for (const t of this.#touched.splice(0)) {
      t.touched = false;
      if (t.window.newest > t.lastAt) this.#step(t, t.window.newest, out);
    }
    return out;
  }

  /** Steps every group at processing time `now` (never before its last evaluation). */
  tick(now: number): GroupTransition[] {
    const out: GroupTransition[] = [];
    for (const t of this.#groups.values()) this.#step(t, Math.max(now, t.lastAt), out);
    return out;
  }

  #known(tenant: string, lo: number, hi: number): TrackedGroup[] | undefined {
    const entries = this.#bySeries.get(tenant)?.get(lo);
    if (entries === undefined) return undefined;
    for (const entry of entries) if (entry.hi === hi) return entry.groups;
    return undefined;
  }

  #remember(tenant: string, lo: number, hi: number, groups: TrackedGroup[]): void {
    let byLo = this.#bySeries.get(tenant);
    if (byLo === undefined) this.#bySeries.set(tenant, byLo = new Map());
    const entries = byLo.get(lo);
    if (entries) entries.push({ hi, groups });
    else byLo.set(lo, [{ hi, groups }]);
  }

  #step(t: TrackedGroup, at: number, out: GroupTransition[]): void {
    const value = t.window.aggregate(at - t.rule.evaluationDelayMs);
    const step = stepGroup(t.rule, t.state, { at, value });
    t.state = step.state;
    t.lastAt = at;
    for (const transition of step.transitions) out.push({ rule: t.rule, group: t.group, transition });
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
        state: initialGroupState(since),
        lastAt: -Infinity,
        touched: false,
      };
      this.#groups.set(key, tracked);
    }
    return tracked;
  }
}
