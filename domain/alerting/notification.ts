/**
 * What a notification says, per channel type: a generic JSON webhook, the
 * Alertmanager webhook payload (`version: "4"`, what `webhook_configs` receivers
 * parse), an Alertmanager `/api/v2/alerts` push, and a Slack incoming-webhook message.
 * The alert's labels are `alertname`, `severity`, the rule's labels and the group's;
 * annotations are rendered with those labels and `value` and `level`.
 *
 * @example
 * const body = notificationBody("alertmanager-webhook", notice, { externalUrl, receiver: channel.name });
 */
import { seriesId } from "../series.ts";
import type { IncidentLevel } from "./incident.ts";
import { renderAnnotations } from "./template.ts";
import { unreachable } from "./message.ts";

export const CHANNEL_TYPES = ["webhook", "alertmanager-webhook", "alertmanager", "slack"] as const;
export type ChannelType = typeof CHANNEL_TYPES[number];

/** One transition of one incident, as every channel type is told about it. */
export interface Notice {
  readonly status: "firing" | "resolved";
  /** The incident event that caused it (IncidentFired, IncidentEscalated, IncidentResolved). */
  readonly event: string;
  readonly incidentId: string;
  readonly tenant: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly severity: string;
  readonly level: IncidentLevel;
  readonly value: number | undefined;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly ruleLabels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  /** When the transition happened. */
  readonly at: number;
}

export interface NoticeContext {
  readonly externalUrl: string;
  readonly receiver: string;
}

export function alertLabels(n: Notice): Record<string, string> {
  return { alertname: n.ruleName, severity: n.severity, ...n.ruleLabels, ...n.groupLabels };
}

export function alertAnnotations(n: Notice): Record<string, string> {
  const fields = { ...alertLabels(n), value: n.value === undefined ? "" : String(n.value), level: n.level };
  return renderAnnotations(n.annotations, fields);
}

/** Alertmanager's 16-hex-digit fingerprint of a label set (here: the label set's series id). */
export function fingerprint(tenant: string, labels: Readonly<Record<string, string>>): string {
  return seriesId(tenant, "ALERTS", labels).hex;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";
const iso = (ms: number) => new Date(ms).toISOString();

export function notificationBody(type: ChannelType, n: Notice, context: NoticeContext): unknown {
  const labels = alertLabels(n);
  const annotations = alertAnnotations(n);
  const generatorURL = `${context.externalUrl}/v1/incidents/${n.incidentId}`;
  const endsAt = n.status === "resolved" ? iso(n.at) : ZERO_TIME;
  switch (type) {
    case "webhook":
      return {
        version: "1",
        type: `incident.${n.status}`,
        event: n.event,
        incident: { id: n.incidentId, status: n.status, level: n.level, url: generatorURL },
        rule: { id: n.ruleId, name: n.ruleName },
        labels,
        annotations,
        value: n.value ?? null,
        startsAt: iso(n.startsAt),
        at: iso(n.at),
      };
    case "alertmanager-webhook": {
      const groupLabels = { alertname: n.ruleName };
      return {
        version: "4",
        groupKey: `{}:{alertname=${JSON.stringify(n.ruleName)}}`,
        truncatedAlerts: 0,
        status: n.status,
        receiver: context.receiver,
        groupLabels,
        commonLabels: labels,
        commonAnnotations: annotations,
        externalURL: context.externalUrl,
        alerts: [{
          status: n.status,
          labels,
          annotations,
          startsAt: iso(n.startsAt),
          endsAt,
          generatorURL,
          fingerprint: fingerprint(n.tenant, labels),
        }],
      };
    }
    case "alertmanager":
      return [{
        labels,
        annotations,
        startsAt: iso(n.startsAt),
        ...(n.status === "resolved" ? { endsAt } : {}),
        generatorURL,
      }];
    case "slack": {
      const group = Object.entries(n.groupLabels).map(([k, v]) => `${k}=${v}`).join(", ");
      const summary = annotations.summary ?? annotations.description ?? "";
      return {
        text: `[${n.status.toUpperCase()}${n.status === "firing" ? `:${n.level}` : ""}] ${n.ruleName}` +
          `${group ? ` (${group})` : ""}${summary ? `: ${summary}` : ""} <${generatorURL}|incident>`,
      };
    }
    default:
      return unreachable(type);
  }
}
