/**
 * Which incident command an alert transition asks for: firing, a level change and
 * no-data fire the group's incident (at that level), a resolution resolves it, and
 * pending, cancelled and flapping stay in the alert's own state. The evaluator is the
 * actor; the transition's cause is the why.
 *
 * @example
 * const command = incidentCommandFor(t, incidentId); // undefined for AlertPending
 */
import { unreachable } from "./message.ts";
import type { IncidentCommand } from "./incident.ts";
import type { GroupTransition } from "./streaming-evaluation.ts";

export function incidentCommandFor(
  t: GroupTransition,
  incidentId: string,
  who = "evaluator",
): IncidentCommand | undefined {
  const { rule, group, transition } = t;
  const metadata = { who, why: transition.metadata.cause, at: transition.metadata.at };
  const subject = {
    incidentId,
    tenant: rule.tenant,
    ruleId: rule.id,
    ruleName: rule.name,
    severity: rule.spec.severity,
    labels: group.labels,
  };
  switch (transition.type) {
    case "AlertFired":
      return {
        type: "FireIncident",
        data: { ...subject, level: transition.data.level, value: transition.data.value },
        metadata,
      };
    case "AlertEscalated":
      return {
        type: "FireIncident",
        data: { ...subject, level: transition.data.to, value: transition.data.value },
        metadata,
      };
    case "AlertNoData":
      return { type: "FireIncident", data: { ...subject, level: "nodata", value: undefined }, metadata };
    case "AlertResolved":
      return { type: "ResolveIncident", data: { incidentId, value: transition.data.value }, metadata };
    case "AlertPending":
    case "AlertCancelled":
    case "AlertFlapping":
      return undefined;
    default:
      return unreachable(transition);
  }
}
