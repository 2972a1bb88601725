/**
 * The alert state machine of one group of one rule (`inactive → pending → firing →
 * resolved`, plus `nodata` and flapping), stepped by observations that carry their own
 * evaluation time, as in Prometheus' `AlertingRule.Eval(ctx, ts, …)`. It is the same for
 * the streaming and the polling evaluator; only where the window aggregate comes from
 * differs.
 *
 * Semantics:
 * - `for`: a breach first seen at t0 is pending and fires at the first evaluation at
 *   t ≥ t0 + for with the condition still holding; a clear evaluation in between cancels
 *   it. `for: 0s` fires at once.
 * - Hysteresis: the level is kept while its recovery threshold is breached (`levelFor`).
 * - `keepFiringFor`: a firing group resolves at the first clear evaluation at least
 *   keepFiringFor after the condition first cleared (Prometheus' `keep_firing_for`).
 * - Flapping: a group that fires `maxFires` times within the flapping window is marked
 *   flapping and then resolves only after the condition has stayed clear for a whole
 *   window, so a flapping series yields one incident instead of a notification per flap.
 * - No data (`value` undefined, or NaN, which aggregates ignore): with `noData` set, a gap
 *   changes nothing until no sample has been seen for `noData`, then the group alerts as
 *   `nodata`; samples coming back resolve that first. Without `noData`, a gap counts as a
 *   clear evaluation, as an absent series does in Prometheus.
 *
 * @example
 * let state = initialGroupState(firstSeenAt);
 * const step = stepGroup(rule, state, { at: now, value: 93 });
 * state = step.state; // step.transitions: [{ type: "AlertPending", … }]
 */
import type { Message } from "./message.ts";
import { type AlertRule, type Level, levelFor, type ThresholdCondition } from "./rule.ts";

export type AlertStatus = "inactive" | "pending" | "firing" | "resolved" | "nodata";

export interface GroupState {
  readonly status: AlertStatus;
  /** Level while pending or firing. */
  readonly level: Level | undefined;
  /** When the condition first held in the current pending/firing episode. */
  readonly activeSince: number | undefined;
  /** When the condition first cleared while firing (for keepFiringFor and flapping). */
  readonly clearSince: number | undefined;
  /** Last evaluation whose window had a value; the start of tracking before that. */
  readonly lastSampleAt: number;
  /** Fire times inside the flapping window. */
  readonly fires: readonly number[];
  readonly flapping: boolean;
}

export interface Observation {
  readonly at: number;
  /** The window aggregate; undefined when the window holds no sample. */
  readonly value: number | undefined;
}

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

export interface GroupStep {
  readonly state: GroupState;
  readonly transitions: readonly AlertTransition[];
}

/** A group first seen (or a rule created) at `since`. */
export function initialGroupState(since: number): GroupState {
  return {
    status: "inactive",
    level: undefined,
    activeSince: undefined,
    clearSince: undefined,
    lastSampleAt: since,
    fires: [],
    flapping: false,
  };
}

export function stepGroup(rule: AlertRule, state: GroupState, observation: Observation): GroupStep {
  const { at, value } = observation;
  const out: AlertTransition[] = [];
  if (value === undefined || Number.isNaN(value)) {
    if (rule.noDataMs === undefined) return clear(rule, state, at, undefined, out);
    if (state.status === "nodata" || at - state.lastSampleAt < rule.noDataMs) {
      return { state, transitions: out };
    }
    out.push(
      transition(
        "AlertNoData",
        { lastSampleAt: state.lastSampleAt },
        at,
        `no sample since ${iso(state.lastSampleAt)}`,
      ),
    );
    return {
      state: { ...initialGroupState(state.lastSampleAt), status: "nodata", fires: state.fires },
      transitions: out,
    };
  }
  let current: GroupState = { ...state, lastSampleAt: at };
  if (current.status === "nodata") {
    out.push(
      transition(
        "AlertResolved",
        { value, reason: "data returned" },
        at,
        `samples again: ${describe(rule, value)}`,
      ),
    );
    current = { ...current, status: "resolved" };
  }
  const active = current.status === "pending" || current.status === "firing";
  const level = levelFor(rule.condition, active ? current.level : undefined, value);
  return level === undefined
    ? clear(rule, current, at, value, out)
    : breach(rule, current, at, value, level, out);
}

function breach(
  rule: AlertRule,
  state: GroupState,
  at: number,
  value: number,
  level: Level,
  out: AlertTransition[],
): GroupStep {
  const cause = `${describe(rule, value)} ${rule.condition.op} ${
    threshold(rule.condition, level)
  } (${level})`;
  switch (state.status) {
    case "inactive":
    case "resolved":
    case "nodata": {
      const pending: GroupState = {
        ...state,
        status: "pending",
        level,
        activeSince: at,
        clearSince: undefined,
      };
      if (rule.forMs === 0) return fire(rule, pending, at, value, cause, out);
      out.push(transition("AlertPending", { level, value }, at, cause));
      return { state: pending, transitions: out };
    }
    case "pending": {
      const pending = { ...state, level };
      if (at - state.activeSince! >= rule.forMs) return fire(rule, pending, at, value, cause, out);
      return { state: pending, transitions: out };
    }
    case "firing":
      if (level !== state.level) {
        out.push(transition("AlertEscalated", { from: state.level!, to: level, value }, at, cause));
      }
      return { state: { ...state, level, clearSince: undefined }, transitions: out };
  }
}

function fire(
  rule: AlertRule,
  state: GroupState,
  at: number,
  value: number,
  cause: string,
  out: AlertTransition[],
): GroupStep {
  const fires = [...state.fires.filter((t) => t > at - rule.flapping.windowMs), at];
  out.push(
    transition("AlertFired", { level: state.level!, value, activeSince: state.activeSince! }, at, cause),
  );
  const flapping = state.flapping || fires.length >= rule.flapping.maxFires;
  if (flapping && !state.flapping) {
    out.push(
      transition(
        "AlertFlapping",
        { fires: fires.length },
        at,
        `fired ${fires.length} times within ${rule.flapping.windowMs / 1000}s`,
      ),
    );
  }
  return { state: { ...state, status: "firing", fires, flapping }, transitions: out };
}

function clear(
  rule: AlertRule,
  state: GroupState,
  at: number,
  value: number | undefined,
  out: AlertTransition[],
): GroupStep {
  const cause = value === undefined
    ? "no sample in the window"
    : `${describe(rule, value)} no longer breaches`;
  switch (state.status) {
    case "inactive":
    case "resolved":
    case "nodata":
      return { state, transitions: out };
    case "pending":
      out.push(transition("AlertCancelled", { value }, at, cause));
      return {
        state: { ...state, status: "inactive", level: undefined, activeSince: undefined },
        transitions: out,
      };
    case "firing": {
      const clearSince = state.clearSince ?? at;
      const hold = Math.max(rule.keepFiringForMs, state.flapping ? rule.flapping.windowMs : 0);
      if (at - clearSince < hold) return { state: { ...state, clearSince }, transitions: out };
      out.push(transition("AlertResolved", { value, reason: "recovered" }, at, cause));
      const resolved: GroupState = {
        ...state,
        status: "resolved",
        level: undefined,
        activeSince: undefined,
        clearSince: undefined,
        flapping: false,
      };
      return { state: resolved, transitions: out };
    }
  }
}

function transition<T extends AlertTransition["type"]>(
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

function describe(rule: AlertRule, value: number): string {
  return `${rule.agg}(${rule.metric}) = ${value}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
