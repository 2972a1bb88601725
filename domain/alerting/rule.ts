/**
 * Alert rules: a threshold on a window aggregate of one metric, evaluated per group of
 * labels. A rule as the API accepts it (`RuleSpec`, durations as text) is compiled into
 * an `AlertRule` (durations in ms) after its thresholds are checked for consistency.
 *
 * Thresholds have hysteresis: a group at a level stays there until the value crosses
 * that level's recovery threshold, so a value hovering around the threshold does not
 * flap. Without a recovery threshold the level ends where it began.
 *
 * @example
 * const rule = compileRule("r1", "acme", spec);
 * levelFor(rule.condition, undefined, 93) // "critical" with critical: 90
 * levelFor(rule.condition, "critical", 85) // still "critical" with criticalRecovery: 80
 */
import { ValidationError } from "../errors.ts";
import { parseDuration } from "./duration.ts";
import { notifyPolicy, type NotifySpec } from "./notify-policy.ts";

export const RULE_AGGREGATIONS = [
  "avg",
  "min",
  "max",
  "sum",
  "count",
  "last",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
export type RuleAggregation = typeof RULE_AGGREGATIONS[number];
export const COMPARISONS = [">", ">=", "<", "<="] as const;
export type Comparison = typeof COMPARISONS[number];
export type Level = "critical" | "warning";
export type RuleMode = "streaming" | "polling";

export interface ThresholdCondition {
  readonly op: Comparison;
  readonly critical: number;
  readonly criticalRecovery?: number;
  readonly warning?: number;
  readonly warningRecovery?: number;
}

/** A rule as written by its author; durations are text such as "30s". */
export interface RuleSpec {
  readonly name: string;
  readonly metric: string;
  readonly filters: Readonly<Record<string, string>>;
  readonly agg: RuleAggregation;
  readonly window: string;
  readonly by: readonly string[];
  readonly condition: ThresholdCondition;
  readonly for: string;
  readonly keepFiringFor: string;
  /** How long a group may go without samples before it alerts as no-data; absent: never. */
  readonly noData?: string;
  readonly evaluationDelay: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly channels: readonly string[];
  readonly mode: RuleMode;
  /** How notifications are grouped (Alertmanager's group_by and timers); absent: per alert. */
  readonly notify?: NotifySpec;
}

/** Fires within `windowMs` that mark a group as flapping. */
export interface FlappingPolicy {
  readonly windowMs: number;
  readonly maxFires: number;
}

export const DEFAULT_FLAPPING: FlappingPolicy = { windowMs: 600_000, maxFires: 3 };

export interface AlertRule {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly metric: string;
  readonly filters: Readonly<Record<string, string>>;
  readonly agg: RuleAggregation;
  readonly windowMs: number;
  readonly by: readonly string[];
  readonly condition: ThresholdCondition;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly noDataMs: number | undefined;
  readonly evaluationDelayMs: number;
  readonly flapping: FlappingPolicy;
  readonly spec: RuleSpec;
}

export function compileRule(id: string, tenant: string, spec: RuleSpec): AlertRule {
  const fail = (reason: string): never => {
    throw new ValidationError(`Cannot accept rule "${spec.name}": ${reason}`);
  };
  const duration = (field: string, text: string, min = 0) => {
    const ms = parseDuration(text);
    if (ms === undefined) fail(`${field} "${text}" is not a duration such as "30s", "5m" or "1h"`);
    if (ms! < min) fail(`${field} "${text}" must be at least ${min} ms`);
    return ms!;
  };
  checkCondition(spec.condition, fail);
  notifyPolicy(spec);
  return {
    id,
    tenant,
    name: spec.name,
    metric: spec.metric,
    filters: spec.filters,
    agg: spec.agg,
    windowMs: duration("window", spec.window, 1),
    by: spec.by,
    condition: spec.condition,
    forMs: duration("for", spec.for),
    keepFiringForMs: duration("keepFiringFor", spec.keepFiringFor),
    noDataMs: spec.noData === undefined ? undefined : duration("noData", spec.noData, 1),
    evaluationDelayMs: duration("evaluationDelay", spec.evaluationDelay),
    flapping: DEFAULT_FLAPPING,
    spec,
  };
}

/** Whether `value` is on the alerting side of `threshold`. */
export function breaches(op: Comparison, value: number, threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
  }
}

/**
 * The level of `value` for a group currently at `current`: a level is entered when its
 * threshold is breached and kept while its recovery threshold still is. NaN is no level.
 */
export function levelFor(
  condition: ThresholdCondition,
  current: Level | undefined,
  value: number,
): Level | undefined {
  const { op } = condition;
  if (Number.isNaN(value)) return undefined;
  if (breaches(op, value, condition.critical)) return "critical";
  if (current === "critical" && breaches(op, value, condition.criticalRecovery ?? condition.critical)) {
    return "critical";
  }
  if (condition.warning === undefined) return undefined;
  if (breaches(op, value, condition.warning)) return "warning";
  if (current !== undefined && breaches(op, value, condition.warningRecovery ?? condition.warning)) {
    return "warning";
  }
  return undefined;
}

/** The event-time window a rule aggregates when evaluated at `at`: [from, to). */
export function evaluationWindow(rule: AlertRule, at: number): { from: number; to: number } {
  const to = at - rule.evaluationDelayMs;
  return { from: to - rule.windowMs, to };
}

function checkCondition(c: ThresholdCondition, fail: (reason: string) => never): void {
  const numbers: [string, number | undefined][] = [
    ["critical", c.critical],
    ["criticalRecovery", c.criticalRecovery],
    ["warning", c.warning],
    ["warningRecovery", c.warningRecovery],
  ];
  for (const [name, value] of numbers) {
    if (value !== undefined && !Number.isFinite(value)) fail(`condition.${name} must be a finite number`);
  }
  if (c.warningRecovery !== undefined && c.warning === undefined) {
    fail("condition.warningRecovery needs condition.warning");
  }
  // "Not above" for > and >=, "not below" for < and <=: a recovery or a lower level
  // must lie on the safe side of the threshold it belongs to.
  const upward = c.op === ">" || c.op === ">=";
  const order = (safe: [string, number | undefined], limit: [string, number | undefined]) => {
    if (safe[1] === undefined || limit[1] === undefined) return;
    if (upward ? safe[1] > limit[1] : safe[1] < limit[1]) {
      fail(
        `condition.${safe[0]} ${safe[1]} must not be ${upward ? "above" : "below"} ${limit[0]} ${limit[1]}`,
      );
    }
  };
  order(["criticalRecovery", c.criticalRecovery], ["critical", c.critical]);
  order(["warning", c.warning], ["critical", c.critical]);
  order(["warningRecovery", c.warningRecovery], ["warning", c.warning]);
}
