/**
 * Stages the notifications an incident event announces, inside the transaction that
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
import { channelsById } from "../../read-models/channels-table.ts";
import { getIncidentById } from "../../read-models/incidents-table.ts";
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
  const rule = await getRule(tx, incident.tenant, incident.ruleId);
  if (rule === undefined) return 0;
  const value = "value" in event.data ? event.data.value : undefined;
  const notice: Notice = {
    status,
    event: event.type,
    incidentId,
    tenant: incident.tenant,
    ruleId: rule.id,
    ruleName: rule.spec.name,
    severity: rule.spec.severity,
    level: event.type === "IncidentEscalated" ? event.data.to : incident.level as Notice["level"],
    value,
    groupLabels: incident.labels,
    ruleLabels: rule.spec.labels,
    annotations: rule.spec.annotations,
    startsAt: incident.openedAt,
    at: event.metadata.at,
  };
  const policy = notifyPolicy(rule.spec);
  const groupKey = notifyGroupKey(policy, alertLabels(notice));
  const now = options.now();
  let staged = 0;
  for (const channel of await channelsById(tx, incident.tenant, rule.spec.channels)) {
    const id = notifyGroupId(channel.id, rule.id, groupKey);
    const held = await groupAlert(tx, id, incidentId);
    if (status === "resolved" && held === undefined) continue;
    const group = {
      id,
      tenant: incident.tenant,
      channelId: channel.id,
      ruleId: rule.id,
      groupKey,
      repeatIntervalMs: policy.repeatIntervalMs,
    };
    const alert = { incidentId, eventId: stored.id, notice, notified: held?.notified ?? false };
    await stageAlert(tx, group, alert, groupDueAt(policy, await groupTiming(tx, id), now));
    staged++;
  }
  return staged;
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
