/**
 * The notification outbox (drizzle): one row per notification and channel, keyed by
 * its `webhook-id`, written in the transaction that projects the incident event it
 * announces, so an incident transition in the table always has its notifications
 * queued. The delivery worker takes due rows, and marks each delivered, retried
 * later (with the attempt count and error) or dead.
 *
 * @example
 * for (const d of await dueDeliveries(db, now, 50)) send(d);
 */
import { and, asc, eq, lte } from "drizzle-orm";
import { bigint, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import type { Db } from "./rules-table.ts";

export type DeliveryStatus = "pending" | "delivered" | "dead";

export const deliveries = pgTable("deliveries", {
  id: text("id").primaryKey(),
  tenant: text("tenant").notNull(),
  channelId: text("channel_id").notNull(),
  incidentId: text("incident_id").notNull(),
  event: text("event").notNull(),
  body: jsonb("body").notNull(),
  status: text("status").$type<DeliveryStatus>().notNull(),
  attempts: integer("attempts").notNull(),
  nextAttemptAt: bigint("next_attempt_at", { mode: "number" }).notNull(),
  lastError: text("last_error"),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  deliveredAt: bigint("delivered_at", { mode: "number" }),
});

export const DELIVERIES_DDL = `
create table if not exists deliveries (
  id text primary key, tenant text not null, channel_id text not null, incident_id text not null,
  event text not null, body jsonb not null, status text not null, attempts integer not null,
  next_attempt_at bigint not null, last_error text, created_at bigint not null, delivered_at bigint
);
create index if not exists deliveries_due on deliveries (status, next_attempt_at);`;

export type DeliveryRow = typeof deliveries.$inferSelect;

/** Adds `row` unless a row of its id is there already; true when it was added. */
export async function enqueueDelivery(tx: Db, row: DeliveryRow): Promise<boolean> {
  const added = await tx.insert(deliveries).values(row).onConflictDoNothing().returning({
    id: deliveries.id,
  });
  return added.length > 0;
}

export async function dueDeliveries(db: Db, now: number, limit: number): Promise<DeliveryRow[]> {
  return await db.select().from(deliveries)
    .where(and(eq(deliveries.status, "pending"), lte(deliveries.nextAttemptAt, now)))
    .orderBy(asc(deliveries.nextAttemptAt), asc(deliveries.createdAt))
    .limit(limit);
}

export async function markDelivery(
  db: Db,
  id: string,
  change: Pick<DeliveryRow, "status" | "attempts" | "nextAttemptAt" | "lastError" | "deliveredAt">,
): Promise<void> {
  await db.update(deliveries).set(change).where(eq(deliveries.id, id));
}

export async function listDeliveries(db: Db, tenant: string, incidentId?: string): Promise<DeliveryRow[]> {
  const where = incidentId === undefined
    ? eq(deliveries.tenant, tenant)
    : and(eq(deliveries.tenant, tenant), eq(deliveries.incidentId, incidentId));
  return await db.select().from(deliveries).where(where).orderBy(asc(deliveries.createdAt));
}
