/**
 * The transitions of the alert state machine (`alert-state.ts`), and their causes in
 * words for timelines, e.g. `avg(cpu_usage) = 93.5 > 90 (critical)`.
 *
 * @example
 * transition("AlertPending", { level, value }, at, breachCause(rule, value, level));
 */
import type { Message } from "./message.ts";
import type { AlertRule, Level, ThresholdCondition } from "./rule.ts";

export interface TransitionMetadata {
  readonly at: number;
  /** Why the transition happened, in words, for timelines. */
  readonly cause: string;
}

export type AlertTransition =
  | Message<"AlertPending", { level: Level; value: number }, TransitionMetadata>
  | Message<"AlertFired", { level: Level; value: number; activeSince: number }, TransitionMetadata>
  | Message<"AlertEscalated", { from: Level; to: Level; value: number }, TransitionMetadata>
  | Message<"AlertCancelled", { value: number | undefined }, TransitionMetadata>
  | Message<
    "AlertResolved",
    { value: number | undefined; reason: "recovered" | "data returned" },
    TransitionMetadata
  >
  | Message<"AlertNoData", { lastSampleAt: number }, TransitionMetadata>
  | Message<"AlertFlapping", { fires: number }, TransitionMetadata>;

export function breachCause(rule: AlertRule, value: number, level: Level): string {
  return `${describe(rule, value)} ${rule.condition.op} ${threshold(rule.condition, level)} (${level})`;
}

export function clearCause(rule: AlertRule, value: number | undefined): string {
  return value === undefined ? "no sample in the window" : `${describe(rule, value)} no longer breaches`;
}

export function transition<T extends AlertTransition["type"]>(
  type: T,
  data: Extract<AlertTransition, { type: T }>["data"],
  at: number,
  cause: string,
): AlertTransition {
  return { type, data, metadata: { at, cause } } as AlertTransition;
}

function threshold(condition: ThresholdCondition, level: Level): number {
  return level === "critical" ? condition.critical : condition.warning!;
}

export function describe(rule: AlertRule, value: number): string {
  return `${rule.agg}(${rule.metric}) = ${value}`;
}
