/**
 * Which rules a series feeds, and into which group: rules are indexed by tenant and
 * metric, a series matches a rule when every filter label has the filter's value, and
 * its group is the values of the rule's `by` labels (a missing label is empty, as in
 * Prometheus' `by`).
 *
 * @example
 * const index = new RuleIndex(rules);
 * for (const rule of index.rulesFor("acme", "cpu_usage")) if (matches(rule, labels)) groupOf(rule, labels);
 */
import type { Labels } from "../series.ts";
import type { AlertRule } from "./rule.ts";

export interface AlertGroup {
  /** Stable identity of the group within its rule. */
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
}

export class RuleIndex {
  readonly #byMetric = new Map<string, AlertRule[]>();

  constructor(readonly rules: readonly AlertRule[]) {
    for (const rule of rules) {
      const key = metricKey(rule.tenant, rule.metric);
      const list = this.#byMetric.get(key);
      if (list) list.push(rule);
      else this.#byMetric.set(key, [rule]);
    }
  }

  rulesFor(tenant: string, metric: string): readonly AlertRule[] {
    return this.#byMetric.get(metricKey(tenant, metric)) ?? NONE;
  }
}

const NONE: readonly AlertRule[] = [];

export function matches(rule: AlertRule, labels: Labels): boolean {
  for (const name in rule.filters) if (labels[name] !== rule.filters[name]) return false;
  return true;
}

export function groupOf(rule: AlertRule, labels: Labels): AlertGroup {
  const groupLabels: Record<string, string> = {};
  for (const name of rule.by) groupLabels[name] = labels[name] ?? "";
  return { key: JSON.stringify(rule.by.map((name) => groupLabels[name])), labels: groupLabels };
}

function metricKey(tenant: string, metric: string): string {
  return `${tenant}\u0000${metric}`;
}
