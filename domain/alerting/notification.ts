/**
 * What a notification says, per channel type: a generic JSON webhook, the
 * Alertmanager webhook payload (`version: "4"`, what `webhook_configs` receivers
 * parse), an Alertmanager `/api/v2/alerts` push, and a Slack incoming-webhook message.
 * The alert's labels are `alertname`, `severity`, the rule's labels and the group's;
 * annotations are rendered with those labels and `value` and `level`.
 *
 * One notification carries one notification group's alerts (one alert unless the rule
 * groups them), or, in a storm, a digest of several groups of one channel. A lone
 * alert keeps the single-incident shape of the generic webhook.
 *
 * @example
 * const body = notificationBody("alertmanager-webhook", [notice], { externalUrl, receiver: channel.name });
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
  // An alert received without a severity label gets none (rules always have one).
  const severity: Record<string, string> = n.severity === "" ? {} : { severity: n.severity };
  return { alertname: n.ruleName, ...severity, ...n.ruleLabels, ...n.groupLabels };
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
/** Alerts named one by one in a Slack message before "and N more". */
const SLACK_LINES = 20;

export interface NotificationContext extends NoticeContext {
  /** The labels the group is known by; default `{alertname}` of the first alert. */
  readonly groupLabels?: Readonly<Record<string, string>>;
  /** A digest folds several groups into one message when a tenant is over its rate. */
  readonly digest?: boolean;
}

export function notificationBody(
  type: ChannelType,
  notices: readonly Notice[],
  context: NotificationContext,
): unknown {
  if (notices.length === 0) throw new Error("A notification needs at least one alert");
  const alerts = notices.map((n) => alertOf(n, context));
  const status = notices.some((n) => n.status === "firing") ? "firing" : "resolved";
  const groupLabels = context.digest ? {} : context.groupLabels ?? { alertname: notices[0].ruleName };
  switch (type) {
    case "webhook": {
      if (notices.length === 1 && !context.digest) return singleWebhook(notices[0], alerts[0]);
      return {
        version: "1",
        type: context.digest ? "incident.digest" : "incident.group",
        status,
        groupLabels,
        firing: notices.filter((n) => n.status === "firing").length,
        resolved: notices.filter((n) => n.status === "resolved").length,
        notifications: notices.map((n, i) => singleWebhook(n, alerts[i])),
      };
    }
    case "alertmanager-webhook":
      return {
        version: "4",
        groupKey: `{}:{${
          Object.entries(groupLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")
        }}`,
        truncatedAlerts: 0,
        status,
        receiver: context.receiver,
        groupLabels,
        commonLabels: common(alerts.map((a) => a.labels)),
        commonAnnotations: common(alerts.map((a) => a.annotations)),
        externalURL: context.externalUrl,
        alerts: alerts.map(({ tenant, ...a }) => ({ ...a, fingerprint: fingerprint(tenant, a.labels) })),
      };
    case "alertmanager":
      return alerts.map((a) => ({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        ...(a.status === "resolved" ? { endsAt: a.endsAt } : {}),
        generatorURL: a.generatorURL,
      }));
    case "slack":
      return { text: slackText(notices, alerts, status, groupLabels, context) };
    default:
      return unreachable(type);
  }
}

function alertOf(n: Notice, context: NoticeContext) {
  return {
    status: n.status,
    labels: alertLabels(n),
    annotations: alertAnnotations(n),
    startsAt: iso(n.startsAt),
    endsAt: n.status === "resolved" ? iso(n.at) : ZERO_TIME,
    generatorURL: `${context.externalUrl}/v1/incidents/${n.incidentId}`,
    tenant: n.tenant,
  };
}

function singleWebhook(n: Notice, alert: ReturnType<typeof alertOf>) {
  return {
    version: "1",
    type: `incident.${n.status}`,
    event: n.event,
    incident: { id: n.incidentId, status: n.status, level: n.level, url: alert.generatorURL },
    rule: { id: n.ruleId, name: n.ruleName },
    labels: alert.labels,
    annotations: alert.annotations,
    value: n.value ?? null,
    startsAt: alert.startsAt,
    at: iso(n.at),
  };
}

/** The label pairs every set has. */
function common(sets: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const out: Record<string, string> = { ...sets[0] };
  for (const set of sets.slice(1)) for (const k in out) if (set[k] !== out[k]) delete out[k];
  return out;
}

function slackText(
  notices: readonly Notice[],
  alerts: readonly ReturnType<typeof alertOf>[],
  status: string,
  groupLabels: Readonly<Record<string, string>>,
  context: NotificationContext,
): string {
  const pairs = (labels: Readonly<Record<string, string>>) =>
    Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ");
  const line = (n: Notice, i: number) => {
    const group = pairs(n.groupLabels);
    const summary = alerts[i].annotations.summary ?? alerts[i].annotations.description ?? "";
    return `[${n.status.toUpperCase()}${n.status === "firing" ? `:${n.level}` : ""}] ${n.ruleName}` +
      `${group ? ` (${group})` : ""}${summary ? `: ${summary}` : ""} <${alerts[i].generatorURL}|incident>`;
  };
  if (notices.length === 1 && !context.digest) return line(notices[0], 0);
  const firing = notices.filter((n) => n.status === "firing").length;
  const title = `[${status.toUpperCase()}] ${context.digest ? "digest: " : ""}${firing} firing, ` +
    `${notices.length - firing} resolved${pairs(groupLabels) ? ` (${pairs(groupLabels)})` : ""}`;
  const lines = notices.slice(0, SLACK_LINES).map(line);
  const more = notices.length > SLACK_LINES ? [`… and ${notices.length - SLACK_LINES} more`] : [];
  return [title, ...lines, ...more].join("\n");
}
