/**
 * How a rule's notifications are grouped, in Alertmanager's terms: alerts whose
 * `groupBy` labels agree share one notification group; a new group waits `groupWait`
 * so alerts breaching together go out together; later changes to the group wait until
 * `groupInterval` after its last notification; a group still firing is notified again
 * every `repeatInterval`.
 *
 * Without `groupBy`, each alert (each group of the rule's `by` labels) is a group of
 * its own and is notified as it changes, with no interval; a storm of them is held to
 * the tenant's notification rate and folded into a digest (`dispatch-plan.ts`).
 * `groupWait` defaults to 0 for streaming rules, so the first page is not held back,
 * and to Alertmanager's 30 s for polling rules.
 *
 * @example
 * const policy = notifyPolicy(rule.spec);
 * const group = notifyGroupKey(policy, alertLabels); // '{"alertname":"cpu_high","dc":"a"}'
 * const due = groupDueAt(policy, { lastFlushAt: undefined, nextFlushAt: undefined }, now);
 */
import { ValidationError } from "../errors.ts";
import { parseDuration } from "./duration.ts";
import type { RuleMode } from "./rule.ts";

/** The `notify` field of a rule as written; durations are text. */
export interface NotifySpec {
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
}

export interface NotifyPolicy {
  /** Undefined: every alert is its own group. */
  readonly groupBy: readonly string[] | undefined;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
}

/** The group's timing as the outbox keeps it. */
export interface GroupTiming {
  readonly lastFlushAt: number | undefined;
  readonly nextFlushAt: number | undefined;
}

const DEFAULT_GROUP_INTERVAL_MS = 300_000;
const DEFAULT_REPEAT_INTERVAL_MS = 4 * 3_600_000;

export function notifyPolicy(
  spec: { readonly name: string; readonly mode: RuleMode; readonly notify?: NotifySpec },
): NotifyPolicy {
  const notify = spec.notify ?? {};
  const duration = (field: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const ms = parseDuration(text);
    if (ms === undefined) {
      throw new ValidationError(
        `Cannot accept rule "${spec.name}": notify.${field} "${text}" is not a duration such as "30s"`,
      );
    }
    return ms;
  };
  const grouped = notify.groupBy !== undefined;
  return {
    groupBy: notify.groupBy,
    groupWaitMs: duration("groupWait", notify.groupWait, spec.mode === "streaming" ? 0 : 30_000),
    groupIntervalMs: duration("groupInterval", notify.groupInterval, grouped ? DEFAULT_GROUP_INTERVAL_MS : 0),
    repeatIntervalMs: duration("repeatInterval", notify.repeatInterval, DEFAULT_REPEAT_INTERVAL_MS),
  };
}

/**
 * The notification group of an alert within its rule and channel: the `groupBy` labels
 * (a missing one is empty, as in Alertmanager), or every label of the alert.
 */
export function notifyGroupKey(policy: NotifyPolicy, labels: Readonly<Record<string, string>>): string {
  const names = policy.groupBy ?? Object.keys(labels).sort();
  return JSON.stringify(Object.fromEntries(names.map((name) => [name, labels[name] ?? ""])));
}

/** The labels a group is known by, from its key. */
export function groupLabelsOf(groupKey: string): Record<string, string> {
  return JSON.parse(groupKey);
}

/**
 * When a group with a fresh change is next notified: a new group after `groupWait`, a
 * known one `groupInterval` after its last notification (at once if that has passed),
 * and never later than a notification already scheduled.
 */
export function groupDueAt(policy: NotifyPolicy, timing: GroupTiming, now: number): number {
  const due = timing.lastFlushAt === undefined
    ? now + policy.groupWaitMs
    : Math.max(now, timing.lastFlushAt + policy.groupIntervalMs);
  return timing.nextFlushAt === undefined ? due : Math.min(timing.nextFlushAt, due);
}
