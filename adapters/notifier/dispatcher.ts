/**
 * Turns due notification groups into deliveries: under each tenant's notification rate
 * (`planDispatch`), a group, or in a storm a digest of a channel's groups, becomes one
 * outbox row with one body, written in the transaction that settles the groups, so a
 * crash either sends a flush once (with one `webhook-id`, retried by the delivery
 * worker) or not at all. Alerts an active silence matches are left out; a flush left
 * with nothing to say sends nothing. The rows a round added are handed back with their
 * channel, so the delivery worker can send them without reading them again.
 *
 * @example
 * const dispatcher = new Dispatcher({ db, now, externalUrl, rate: { perMinute: 60, burst: 20 } });
 * await dispatcher.dispatch();
 */
import { createHash } from "node:crypto";
import { planDispatch, type PlannedNotification } from "../../domain/alerting/dispatch-plan.ts";
import { alertLabels, notificationBody } from "../../domain/alerting/notification.ts";
import { groupLabelsOf } from "../../domain/alerting/notify-policy.ts";
import { silenceMatcher } from "../../domain/alerting/silence.ts";
import { TokenBucket } from "../../domain/limits/token-bucket.ts";
import { getChannel } from "../../read-models/channels-table.ts";
import type { ChannelRow } from "../../read-models/channels-table.ts";
import { type DeliveryRow, enqueueDelivery } from "../../read-models/deliveries-table.ts";
import {
  alertsOfGroups,
  dueGroups,
  type GroupAlertRow,
  nextDueAt,
  type NotifyGroupRow,
  postponeGroup,
  settleGroup,
} from "../../read-models/notify-groups-table.ts";
import type { Db } from "../../read-models/rules-table.ts";
import { silencesActiveAt } from "../../read-models/silences-table.ts";
import { webhookId } from "./outbox.ts";

export interface NotificationRate {
  readonly perMinute: number;
  readonly burst: number;
}

export interface DispatcherOptions {
  readonly db: Db;
  readonly now: () => number;
  readonly externalUrl: string;
  readonly rate: NotificationRate;
  /** Due groups taken per round. */
  readonly batch?: number;
}

/** An outbox row a dispatch round added, with the channel as the round read it. */
export interface QueuedDelivery {
  readonly row: DeliveryRow;
  readonly channel: ChannelRow;
}

export class Dispatcher {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: DispatcherOptions) {}

  /** Flushes every due group; returns the notifications queued. */
  async dispatch(): Promise<QueuedDelivery[]> {
    const { db } = this.options;
    const now = this.options.now();
    const due = await dueGroups(db, now, this.options.batch ?? 2_000);
    if (due.length === 0) return [];
    const plan = planDispatch(due, (tenant) => this.#bucket(tenant, now), now);
    for (const { group, until } of plan.postpone) await postponeGroup(db, group.id, until);
    const queued: QueuedDelivery[] = [];
    for (const notification of plan.send) {
      const added = await db.transaction((tx) => this.#flush(tx, notification, now));
      if (added !== undefined) queued.push(added);
    }
    return queued;
  }

  nextDueAt(): Promise<number | undefined> {
    return nextDueAt(this.options.db);
  }

  /** The row queued for `n`, if there was something to say and it was not queued before. */
  async #flush(
    tx: Db,
    n: PlannedNotification<NotifyGroupRow>,
    now: number,
  ): Promise<QueuedDelivery | undefined> {
    const { tenant, channelId } = n.groups[0];
    const channel = await getChannel(tx, tenant, channelId);
    const alerts = await alertsOfGroups(tx, n.groups.map((g) => g.id));
    const silences = (await silencesActiveAt(tx, tenant, now)).map((s) => silenceMatcher(s.matchers));
    const silenced = (a: GroupAlertRow) => silences.some((accepts) => accepts(alertLabels(a.notice)));
    const sent: GroupAlertRow[] = [];
    for (const group of n.groups) {
      const own = alerts.filter((a) => a.groupId === group.id);
      const dropped = own.filter((a) => a.notice.status === "resolved" && !a.notified);
      const told = channel === undefined ? [] : own.filter((a) => !dropped.includes(a) && !silenced(a));
      const repeat = group.lastFlushAt !== null && now >= group.lastFlushAt + group.repeatIntervalMs;
      const send = told.some((a) => a.changed) || (repeat && told.length > 0);
      await settleGroup(tx, group, {
        sent: send ? told : [],
        dropped,
        firing: channel !== undefined && own.some((a) => a.notice.status === "firing"),
        now,
      });
      if (send) sent.push(...told);
    }
    if (channel === undefined || sent.length === 0) return undefined;
    // A lone change keeps the id of its transition; a repeat or a group gets one of its own.
    const only = sent.length === 1 && n.groups.length === 1 && sent[0].changed;
    const row: DeliveryRow = {
      id: only ? webhookId(sent[0].eventId, channel.id) : flushId(channel.id, sent, now),
      tenant,
      channelId: channel.id,
      incidentId: sent[0].incidentId,
      event: only ? sent[0].notice.event : n.digest ? "NotificationDigest" : "NotificationGroup",
      body: notificationBody(channel.type, sent.map((a) => a.notice), {
        externalUrl: this.options.externalUrl,
        receiver: channel.name,
        groupLabels: n.digest ? undefined : groupLabelsOf(n.groups[0].groupKey),
        digest: n.digest,
      }),
      status: "pending",
      attempts: 0,
      nextAttemptAt: 0,
      lastError: null,
      createdAt: now,
      deliveredAt: null,
    };
    return await enqueueDelivery(tx, row) ? { row, channel } : undefined;
  }

  #bucket(tenant: string, now: number): TokenBucket {
    let bucket = this.#buckets.get(tenant);
    if (bucket === undefined) {
      const { perMinute, burst } = this.options.rate;
      bucket = new TokenBucket({ rate: perMinute / 60, burst }, now);
      this.#buckets.set(tenant, bucket);
    }
    return bucket;
  }
}

/** A flush of several alerts: named by its channel, its alerts' transitions and its time. */
function flushId(channelId: string, sent: readonly GroupAlertRow[], now: number): string {
  const hash = createHash("sha256").update(`${channelId}\u0000${now}`);
  for (const a of sent) hash.update(`\u0000${a.eventId}`);
  return `msg_${hash.digest("hex").slice(0, 32)}`;
}
