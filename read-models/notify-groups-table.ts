/**
 * Notification groups (drizzle), the first stage of the outbox: `notify_groups` holds
 * each group's timing (last notified, next due) and `group_alerts` the latest notice of
 * each alert in it, whether it changed since the group was last notified and whether
 * it was ever notified firing. Both are written in the transaction that projects the
 * incident event, so no transition can be lost between the incidents table and the
 * outbox; the dispatcher turns due groups into deliveries in one transaction each.
 *
 * @example
 * await stageAlert(tx, { groupId, tenant, channelId, ruleId, groupKey, repeatIntervalMs }, alert, due);
 * for (const group of await dueGroups(db, now, 500)) …
 */
import { and, asc, eq, inArray, isNotNull, lte } from "drizzle-orm";
import { bigint, boolean, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { Notice } from "../domain/alerting/notification.ts";
import type { GroupTiming } from "../domain/alerting/notify-policy.ts";
import type { Db } from "./rules-table.ts";

export const notifyGroups = pgTable("notify_groups", {
  id: text("id").primaryKey(),
  tenant: text("tenant").notNull(),
  channelId: text("channel_id").notNull(),
  ruleId: text("rule_id").notNull(),
  groupKey: text("group_key").notNull(),
  repeatIntervalMs: bigint("repeat_interval_ms", { mode: "number" }).notNull(),
  lastFlushAt: bigint("last_flush_at", { mode: "number" }),
  nextFlushAt: bigint("next_flush_at", { mode: "number" }),
});

export const groupAlerts = pgTable("group_alerts", {
  groupId: text("group_id").notNull(),
  incidentId: text("incident_id").notNull(),
  eventId: text("event_id").notNull(),
  notice: jsonb("notice").$type<Notice>().notNull(),
  changed: boolean("changed").notNull(),
  notified: boolean("notified").notNull(),
}, (t) => [primaryKey({ columns: [t.groupId, t.incidentId] })]);

export const NOTIFY_GROUPS_DDL = `
create table if not exists notify_groups (
  id text primary key, tenant text not null, channel_id text not null, rule_id text not null,
  group_key text not null, repeat_interval_ms bigint not null, last_flush_at bigint, next_flush_at bigint
);
create index if not exists notify_groups_due on notify_groups (next_flush_at);
create table if not exists group_alerts (
  group_id text not null, incident_id text not null, event_id text not null, notice jsonb not null,
  changed boolean not null, notified boolean not null, primary key (group_id, incident_id)
);`;

export type NotifyGroupRow = typeof notifyGroups.$inferSelect;
export type GroupAlertRow = typeof groupAlerts.$inferSelect;
export type NewNotifyGroup = Omit<NotifyGroupRow, "lastFlushAt" | "nextFlushAt">;

export async function groupTiming(tx: Db, groupId: string): Promise<GroupTiming> {
  const [row] = await tx.select().from(notifyGroups).where(eq(notifyGroups.id, groupId));
  return { lastFlushAt: row?.lastFlushAt ?? undefined, nextFlushAt: row?.nextFlushAt ?? undefined };
}

export async function groupAlert(tx: Db, groupId: string, incidentId: string) {
  const [row] = await tx.select().from(groupAlerts).where(
    and(eq(groupAlerts.groupId, groupId), eq(groupAlerts.incidentId, incidentId)),
  );
  return row as GroupAlertRow | undefined;
}

/** Records an alert's latest notice in its group and when the group is next due. */
export async function stageAlert(
  tx: Db,
  group: NewNotifyGroup,
  alert: Omit<GroupAlertRow, "groupId" | "changed">,
  nextFlushAt: number,
): Promise<void> {
  await tx.insert(notifyGroups).values({ ...group, lastFlushAt: null, nextFlushAt })
    .onConflictDoUpdate({
      target: notifyGroups.id,
      set: { nextFlushAt, repeatIntervalMs: group.repeatIntervalMs },
    });
  const row = { ...alert, groupId: group.id, changed: true };
  await tx.insert(groupAlerts).values(row).onConflictDoUpdate({
    target: [groupAlerts.groupId, groupAlerts.incidentId],
    set: { eventId: row.eventId, notice: row.notice, changed: true, notified: row.notified },
  });
}

export async function dueGroups(db: Db, now: number, limit: number): Promise<NotifyGroupRow[]> {
  return await db.select().from(notifyGroups)
    .where(and(isNotNull(notifyGroups.nextFlushAt), lte(notifyGroups.nextFlushAt, now)))
    .orderBy(asc(notifyGroups.nextFlushAt))
    .limit(limit);
}

/** The earliest time any group is due, for the dispatcher's sleep. */
export async function nextDueAt(db: Db): Promise<number | undefined> {
  const [row] = await db.select({ at: notifyGroups.nextFlushAt }).from(notifyGroups)
    .where(isNotNull(notifyGroups.nextFlushAt)).orderBy(asc(notifyGroups.nextFlushAt)).limit(1);
  return row?.at ?? undefined;
}

export async function alertsOfGroups(tx: Db, groupIds: readonly string[]): Promise<GroupAlertRow[]> {
  if (groupIds.length === 0) return [];
  return await tx.select().from(groupAlerts).where(inArray(groupAlerts.groupId, [...groupIds]))
    .orderBy(asc(groupAlerts.groupId), asc(groupAlerts.incidentId));
}

export async function postponeGroup(db: Db, groupId: string, until: number): Promise<void> {
  await db.update(notifyGroups).set({ nextFlushAt: until }).where(eq(notifyGroups.id, groupId));
}

export interface GroupSettlement {
  /** Alerts the notification carried. */
  readonly sent: readonly GroupAlertRow[];
  /** Alerts that leave the group untold (resolved before they were ever notified). */
  readonly dropped: readonly GroupAlertRow[];
  /** Whether any alert of the group still fires afterwards. */
  readonly firing: boolean;
  readonly now: number;
}

/**
 * After a flush: sent firing alerts are no longer changed, sent resolved ones leave;
 * a group with nothing firing is gone (a new alert starts it afresh, with groupWait),
 * and one still firing is due again after its repeat interval.
 */
export async function settleGroup(tx: Db, group: NotifyGroupRow, settlement: GroupSettlement): Promise<void> {
  const { sent, dropped, firing, now } = settlement;
  const gone = [...dropped, ...sent.filter((a) => a.notice.status === "resolved")];
  if (gone.length > 0) {
    await tx.delete(groupAlerts).where(
      and(eq(groupAlerts.groupId, group.id), inArray(groupAlerts.incidentId, gone.map((a) => a.incidentId))),
    );
  }
  const told = sent.filter((a) => a.notice.status === "firing").map((a) => a.incidentId);
  if (told.length > 0) {
    await tx.update(groupAlerts).set({ changed: false, notified: true })
      .where(and(eq(groupAlerts.groupId, group.id), inArray(groupAlerts.incidentId, told)));
  }
  if (!firing) {
    await tx.delete(groupAlerts).where(eq(groupAlerts.groupId, group.id));
    await tx.delete(notifyGroups).where(eq(notifyGroups.id, group.id));
    return;
  }
  const lastFlushAt = sent.length > 0 ? now : group.lastFlushAt;
  await tx.update(notifyGroups)
    .set({ lastFlushAt, nextFlushAt: (lastFlushAt ?? now) + group.repeatIntervalMs })
    .where(eq(notifyGroups.id, group.id));
}
