/**
 * Polling evaluation of alert rules: at each evaluation time the evaluator reads every
 * polling rule's window aggregate per group from the rollups and steps each group's
 * state machine (`stepGroup`, the same as the streaming evaluator's) once, so both
 * produce the same transitions and the same incident events. A group the rollups no
 * longer show is stepped with no value (no data, or a clear evaluation without
 * `noData`). The window ends `evaluationDelay` before the evaluation time, on a whole
 * minute, so a minute still filling is never judged.
 *
 * @example
 * const evaluation = new PollingEvaluation();
 * evaluation.setRules(rules);
 * const { from, to } = pollingWindow(rule, at);
 * const transitions = evaluation.step(rule, at, await ruleWindow(store, rule.tenant, rule, from, to));
 */
import { type GroupState, initialGroupState, stepGroup } from "./alert-state.ts";
import { groupOf } from "./rule-index.ts";
import type { AlertRule } from "./rule.ts";
import type { GroupTransition } from "./streaming-evaluation.ts";

const MINUTE_MS = 60_000;

/** The window of whole minutes a polling rule reads when evaluated at `at`: [from, to). */
export function pollingWindow(rule: AlertRule, at: number): { from: number; to: number } {
  const to = Math.floor((at - rule.evaluationDelayMs) / MINUTE_MS) * MINUTE_MS;
  return { from: to - Math.ceil(rule.windowMs / MINUTE_MS) * MINUTE_MS, to };
}

interface Tracked {
  readonly labels: Readonly<Record<string, string>>;
  state: GroupState;
}

export class PollingEvaluation {
  /** Rule id → its definition (as JSON, to notice changes) and its groups by key. */
  readonly #rules = new Map<string, { spec: string; groups: Map<string, Tracked> }>();

  setRules(rules: readonly AlertRule[]): void {
    const wanted = new Map(rules.map((r) => [r.id, JSON.stringify(r.spec)]));
    for (const [id, entry] of this.#rules) if (wanted.get(id) !== entry.spec) this.#rules.delete(id);
    for (const [id, spec] of wanted) {
      if (!this.#rules.has(id)) this.#rules.set(id, { spec, groups: new Map() });
    }
  }

  /** Seeds a group's state (restored after a restart, from its open incident). */
  restore(rule: AlertRule, labels: Readonly<Record<string, string>>, state: GroupState): void {
    this.#rules.get(rule.id)?.groups.set(groupOf(rule, labels).key, {
      labels: groupOf(rule, labels).labels,
      state,
    });
  }

  step(
    rule: AlertRule,
    at: number,
    results: readonly { labels: Readonly<Record<string, string>>; value: number | undefined }[],
  ): GroupTransition[] {
    const entry = this.#rules.get(rule.id);
    if (entry === undefined) return [];
    const out: GroupTransition[] = [];
    const seen = new Set<string>();
    for (const result of results) {
      const group = groupOf(rule, result.labels);
      seen.add(group.key);
      let tracked = entry.groups.get(group.key);
      if (tracked === undefined) {
        tracked = { labels: group.labels, state: initialGroupState(at) };
        entry.groups.set(group.key, tracked);
      }
      this.#advance(rule, group, tracked, at, result.value, out);
    }
    for (const [key, tracked] of entry.groups) {
      if (!seen.has(key)) this.#advance(rule, { key, labels: tracked.labels }, tracked, at, undefined, out);
    }
    return out;
  }

  #advance(
    rule: AlertRule,
    group: GroupTransition["group"],
    tracked: Tracked,
    at: number,
    value: number | undefined,
    out: GroupTransition[],
  ): void {
    const step = stepGroup(rule, tracked.state, { at, value });
    tracked.state = step.state;
    for (const transition of step.transitions) out.push({ rule, group, transition });
  }
}
