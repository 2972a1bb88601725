/**
 * Alerts received in Alertmanager's format (`POST /api/v2/alerts`, what Prometheus and
 * vmalert send) become commands on the same incidents as Lookout's own rules: one
 * incident per tenant and label set, fired while `endsAt` lies ahead (or is absent) and
 * resolved once a sender reports an `endsAt` that has passed, as Alertmanager reads it.
 * The incident's rule is `EXTERNAL_RULE_ID`; its name is the `alertname` label and its
 * severity the `severity` label.
 *
 * Senders repeat firing alerts every evaluation; firing an incident already firing at
 * that level decides nothing, so repeats cost no events.
 *
 * @example
 * const command = externalAlertCommand("acme", incidentId, alert, { who: "acme", why: "", at: now });
 */
import type { ChangeMetadata } from "./message.ts";
import type { IncidentCommand } from "./incident.ts";

export const EXTERNAL_RULE_ID = "external";

export interface ExternalAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number | undefined;
  readonly endsAt: number | undefined;
  readonly generatorURL: string | undefined;
}

export function externalAlertCommand(
  tenant: string,
  incidentId: string,
  alert: ExternalAlert,
  metadata: ChangeMetadata,
): IncidentCommand {
  const resolved = alert.endsAt !== undefined && alert.endsAt <= metadata.at;
  const source = alert.generatorURL ? ` from ${alert.generatorURL}` : "";
  if (resolved) {
    return {
      type: "ResolveIncident",
      data: { incidentId, value: undefined },
      metadata: { ...metadata, why: `resolved at ${new Date(alert.endsAt!).toISOString()}${source}` },
    };
  }
  const severity = alert.labels.severity ?? "";
  return {
    type: "FireIncident",
    data: {
      incidentId,
      tenant,
      ruleId: EXTERNAL_RULE_ID,
      ruleName: alert.labels.alertname ?? "",
      severity,
      labels: alert.labels,
      level: severity === "warning" ? "warning" : "critical",
      value: undefined,
      annotations: alert.annotations,
    },
    metadata: {
      ...metadata,
      why: `firing since ${new Date(alert.startsAt ?? metadata.at).toISOString()}${source}`,
    },
  };
}
