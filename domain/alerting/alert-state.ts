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
 * `stepGroup` is the pure step; `advanceGroup` is the same step on a state its
 * evaluator owns, changed in place, for the streaming evaluator's hot path: a step
 * that changes nothing but `lastSampleAt` (almost every step) allocates nothing, and a
 * transition's cause is put into words only when there is a transition.
 *
 * @example
 * let state = initialGroupState(firstSeenAt);
 * const step = stepGroup(rule, state, { at: now, value: 93 });
 * state = step.state; // step.transitions: [{ type: "AlertPending", … }]
 */
import { type AlertTransition, breachCause, clearCause, describe, transition } from "./alert-transition.ts";
import { unreachable } from "./message.ts";
import { type AlertRule, type Level, levelFor } from "./rule.ts";

export type { AlertTransition, TransitionMetadata } from "./alert-transition.ts";

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

/** A group's state as one evaluator owns it, for `advanceGroup`. */
export type MutableGroupState = { -readonly [K in keyof GroupState]: GroupState[K] };

export interface Observation {
  readonly at: number;
  /** The window aggregate; undefined when the window holds no sample. */
  readonly value: number | undefined;
}

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
  const next: MutableGroupState = { ...state };
  const transitions: AlertTransition[] = [];
  advanceGroup(rule, next, observation.at, observation.value, transitions);
  return { state: next, transitions };
}

/** `stepGroup` in place: changes `s` and appends the step's transitions to `out`. */
export function advanceGroup(
  rule: AlertRule,
  s: MutableGroupState,
  at: number,
  value: number | undefined,
  out: AlertTransition[],
): void {
  if (value === undefined || Number.isNaN(value)) {
    if (rule.noDataMs === undefined) return clear(rule, s, at, undefined, out);
    if (s.status === "nodata" || at - s.lastSampleAt < rule.noDataMs) return;
    const cause = `no sample since ${new Date(s.lastSampleAt).toISOString()}`;
    out.push(transition("AlertNoData", { lastSampleAt: s.lastSampleAt }, at, cause));
    // The state of a group first seen at its last sample, but for the fire history.
    s.status = "nodata";
    s.level = undefined;
    s.activeSince = undefined;
    s.clearSince = undefined;
    s.flapping = false;
    return;
  }
  s.lastSampleAt = at;
  if (s.status === "nodata") {
    const cause = `samples again: ${describe(rule, value)}`;
    out.push(transition("AlertResolved", { value, reason: "data returned" }, at, cause));
    s.status = "resolved";
  }
  const active = s.status === "pending" || s.status === "firing";
  const level = levelFor(rule.condition, active ? s.level : undefined, value);
  if (level === undefined) clear(rule, s, at, value, out);
  else breach(rule, s, at, value, level, out);
}

function breach(
  rule: AlertRule,
  s: MutableGroupState,
  at: number,
  value: number,
  level: Level,
  out: AlertTransition[],
): void {
  switch (s.status) {
    case "inactive":
    case "resolved":
    case "nodata":
      s.status = "pending";
      s.level = level;
      s.activeSince = at;
      s.clearSince = undefined;
      if (rule.forMs === 0) return fire(rule, s, at, value, out);
      out.push(transition("AlertPending", { level, value }, at, breachCause(rule, value, level)));
      return;
    case "pending":
      s.level = level;
      if (at - s.activeSince! >= rule.forMs) fire(rule, s, at, value, out);
      return;
    case "firing":
      if (level !== s.level) {
        out.push(
          transition(
            "AlertEscalated",
            { from: s.level!, to: level, value },
            at,
            breachCause(rule, value, level),
          ),
        );
      }
      s.level = level;
      s.clearSince = undefined;
      return;
    default:
      unreachable(s.status);
  }
}

function fire(
  rule: AlertRule,
  s: MutableGroupState,
  at: number,
  value: number,
  out: AlertTransition[],
): void {
  const level = s.level!;
  const fires = [...s.fires.filter((t) => t > at - rule.flapping.windowMs), at];
  out.push(
    transition(
      "AlertFired",
      { level, value, activeSince: s.activeSince! },
      at,
      breachCause(rule, value, level),
    ),
  );
  const flapping = s.flapping || fires.length >= rule.flapping.maxFires;
  if (flapping && !s.flapping) {
    out.push(
      transition(
        "AlertFlapping",
        { fires: fires.length },
        at,
        `fired ${fires.length} times within ${rule.flapping.windowMs / 1000}s`,
      ),
    );
  }
  s.status = "firing";
  s.fires = fires;
  s.flapping = flapping;
}

function clear(
  rule: AlertRule,
  s: MutableGroupState,
  at: number,
  value: number | undefined,
  out: AlertTransition[],
): void {
  switch (s.status) {
    case "inactive":
    case "resolved":
    case "nodata":
      return;
    case "pending":
      out.push(transition("AlertCancelled", { value }, at, clearCause(rule, value)));
      s.status = "inactive";
      s.level = undefined;
      s.activeSince = undefined;
      return;
    case "firing": {
      const clearSince = s.clearSince ?? at;
      const hold = Math.max(rule.keepFiringForMs, s.flapping ? rule.flapping.windowMs : 0);
      if (at - clearSince < hold) {
        s.clearSince = clearSince;
        return;
      }
      out.push(transition("AlertResolved", { value, reason: "recovered" }, at, clearCause(rule, value)));
      s.status = "resolved";
      s.level = undefined;
      s.activeSince = undefined;
      s.clearSince = undefined;
      s.flapping = false;
      return;
    }
    default:
      unreachable(s.status);
  }
}
