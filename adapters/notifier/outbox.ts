/**
 * Queues the notifications an incident event announces, inside the transaction that
 * projects the event (so the outbox and the incidents table never disagree): firing on
 * `IncidentFired` and `IncidentEscalated`, resolved on `IncidentResolved`, one row per
 * channel of the rule. The row id is the `webhook-id`, derived from the event id and
 * the channel, so replaying the event queues nothing new and a resend carries the same
 * id.
 */
import { createHash } from "node:crypto";
import type { IncidentEvent } from "../../domain/alerting/incident.ts";
import { type Notice, notificationBody } from "../../domain/alerting/notification.ts";
import type { StoredEvent } from "../../domain/ports/event-store.ts";
import { channelsById } from "../../read-models/channels-table.ts";
import { enqueueDelivery } from "../../read-models/deliveries-table.ts";
import { getIncidentById } from "../../read-models/incidents-table.ts";
import { type Db, getRule } from "../../read-models/rules-table.ts";

export interface OutboxOptions {
  /** This server's address as receivers should link to it. */
  readonly externalUrl: string;
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
  const channels = await channelsById(tx, incident.tenant, rule.spec.channels);
  for (const channel of channels) {
    await enqueueDelivery(tx, {
      id: webhookId(stored.id, channel.id),
      tenant: incident.tenant,
      channelId: channel.id,
      incidentId,
      event: event.type,
      body: notificationBody(channel.type, notice, {
        externalUrl: options.externalUrl,
        receiver: channel.name,
      }),
      status: "pending",
      attempts: 0,
      nextAttemptAt: 0,
      lastError: null,
      createdAt: event.metadata.at,
      deliveredAt: null,
    });
  }
  return channels.length;
}

/** `msg_` and 32 hex digits: the same for the same transition and channel, always. */
export function webhookId(eventId: string, channelId: string): string {
  return `msg_${createHash("sha256").update(`${eventId}\u0000${channelId}`).digest("hex").slice(0, 32)}`;
}
