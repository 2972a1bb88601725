/**
 * Stages the notifications an incident event announces (of a rule's alert, or of one
 * received on `POST /api/v2/alerts`), inside the transaction that
 * projects the event (so the outbox and the incidents table never disagree): firing on
 * `IncidentFired` and `IncidentEscalated`, resolved on `IncidentResolved`, into the
 * rule's notification group of each of its channels (`notify-policy.ts`). A resolution
 * of an alert its group never held (never notified firing) stages nothing. The
 * dispatcher turns due groups into deliveries; a replayed event changes nothing that
 * its first projection did not, since both are in the same transaction as the
 * projection's checkpoint.
 */
import { createHash } from "node:crypto";
import type { IncidentEvent } from "../../domain/alerting/incident.ts";
import { alertLabels, type Notice } from "../../domain/alerting/notification.ts";
import { groupDueAt, notifyGroupKey, notifyPolicy } from "../../domain/alerting/notify-policy.ts";
import type { StoredEvent } from "../../domain/ports/event-store.ts";
import { type ChannelRow, channelsById, listChannels } from "../../read-models/channels-table.ts";
import { getIncidentById, type IncidentRow } from "../../read-models/incidents-table.ts";
import { EXTERNAL_RULE_ID } from "../../domain/alerting/external-alert.ts";
import type { RuleSpec } from "../../domain/alerting/rule.ts";
import { groupAlert, groupTiming, stageAlert } from "../../read-models/notify-groups-table.ts";
import { type Db, getRule } from "../../read-models/rules-table.ts";

export interface OutboxOptions {
  /** Processing time: when the group's timers run from. */
  readonly now: () => number;
}

export async function queueNotifications(
  tx: Db,
  stored: StoredEvent,
  event: IncidentEvent,
  options: OutboxOptions,
): Promise<number> {
  const status = event.type === "IncidentResolved"
    ? "resolved"
    : event.type === "IncidentFired" || event.type === "IncidentEscalated"
    ? "firing"
    : undefined;
  if (status === undefined) return 0;
  const incidentId = event.data.incidentId;
  const incident = await getIncidentById(tx, incidentId);
  if (incident === undefined) return 0;
  const route = await routeOf(tx, incident);
  if (route === undefined) return 0;
  const value = "value" in event.data ? event.data.value : undefined;
  const notice: Notice = {
    status,
    event: event.type,
    incidentId,
    tenant: incident.tenant,
    ruleId: incident.ruleId,
    ruleName: route.spec.name,
    severity: route.spec.severity,
    level: event.type === "IncidentEscalated" ? event.data.to : incident.level as Notice["level"],
    value,
    groupLabels: incident.labels,
    ruleLabels: route.spec.labels,
    annotations: (event.type === "IncidentFired" ? event.data.annotations : undefined) ??
      route.spec.annotations,
    startsAt: incident.openedAt,
    at: event.metadata.at,
  };
  const policy = notifyPolicy(route.spec);
  const groupKey = notifyGroupKey(policy, alertLabels(notice));
  const now = options.now();
  let staged = 0;
  for (const channel of route.channels) {
    const id = notifyGroupId(channel.id, incident.ruleId, groupKey);
    const held = await groupAlert(tx, id, incidentId);
    if (status === "resolved" && held === undefined) continue;
    const group = {
      id,
      tenant: incident.tenant,
      channelId: channel.id,
      ruleId: incident.ruleId,
      groupKey,
      repeatIntervalMs: policy.repeatIntervalMs,
    };
    // A received alert's recovery says nothing new: it keeps the annotations it fired with.
    const told = route.external && status === "resolved"
      ? { ...notice, annotations: held!.notice.annotations }
      : notice;
    const alert = { incidentId, eventId: stored.id, notice: told, notified: held?.notified ?? false };
    await stageAlert(tx, group, alert, groupDueAt(policy, await groupTiming(tx, id), now));
    staged++;
  }
  return staged;
}

interface Route {
  readonly spec: Pick<RuleSpec, "name" | "mode" | "severity" | "labels" | "annotations" | "notify">;
  readonly channels: readonly ChannelRow[];
  readonly external: boolean;
}

/**
 * Where an incident's notifications go and how they are grouped: its rule's channels
 * and `notify`, or, for an alert received from outside, every channel of the tenant
 * (the one named by its `channel` label, when it has one), each alert a group of its
 * own, sent at once (its sender already waited its `for`).
 */
async function routeOf(tx: Db, incident: IncidentRow): Promise<Route | undefined> {
  if (incident.ruleId === EXTERNAL_RULE_ID) {
    const named = incident.labels.channel;
    const channels = (await listChannels(tx, incident.tenant)).filter((c) =>
      named === undefined || c.name === named
    );
    const spec = {
      name: incident.ruleName,
      mode: "streaming" as const,
      severity: incident.severity,
      labels: {},
      annotations: {},
    };
    return { spec, channels, external: true };
  }
  const rule = await getRule(tx, incident.tenant, incident.ruleId);
  if (rule === undefined) return undefined;
  return {
    spec: rule.spec,
    channels: await channelsById(tx, incident.tenant, rule.spec.channels),
    external: false,
  };
}

function notifyGroupId(channelId: string, ruleId: string, groupKey: string): string {
  return createHash("sha256").update(`${channelId}\u0000${ruleId}\u0000${groupKey}`).digest("hex").slice(
    0,
    32,
  );
}

/** `msg_` and 32 hex digits: the same for the same transition and channel, always. */
export function webhookId(eventId: string, channelId: string): string {
  return `msg_${createHash("sha256").update(`${eventId}\u0000${channelId}`).digest("hex").slice(0, 32)}`;
}
