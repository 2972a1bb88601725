/**
 * Notification channels (drizzle): where a tenant's notifications go. Channels are
 * configuration rather than history, so they are plain rows; the secret signs
 * webhooks and is never returned by the API.
 *
 * @example
 * const channel = await getChannel(db, "acme", id);
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import { bigint, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { ChannelType } from "../domain/alerting/notification.ts";
import type { Db } from "./rules-table.ts";

export const channels = pgTable("channels", {
  tenant: text("tenant").notNull(),
  id: text("id").notNull(),
  name: text("name").notNull(),
  type: text("type").$type<ChannelType>().notNull(),
  url: text("url").notNull(),
  secret: text("secret").notNull(),
  version: integer("version").notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
}, (t) => [primaryKey({ columns: [t.tenant, t.id] })]);

export const CHANNELS_DDL = `
create table if not exists channels (
  tenant text not null, id text not null, name text not null, type text not null, url text not null,
  secret text not null, version integer not null, updated_at bigint not null,
  primary key (tenant, id)
);`;

export type ChannelRow = typeof channels.$inferSelect;

export async function listChannels(db: Db, tenant: string): Promise<ChannelRow[]> {
  return await db.select().from(channels).where(eq(channels.tenant, tenant)).orderBy(asc(channels.name));
}

export async function getChannel(db: Db, tenant: string, id: string): Promise<ChannelRow | undefined> {
  const [row] = await db.select().from(channels).where(and(eq(channels.tenant, tenant), eq(channels.id, id)));
  return row;
}

export async function channelsById(db: Db, tenant: string, ids: readonly string[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return await db.select().from(channels).where(
    and(eq(channels.tenant, tenant), inArray(channels.id, [...ids])),
  );
}

export async function putChannel(db: Db, row: ChannelRow): Promise<void> {
  await db.insert(channels).values(row).onConflictDoUpdate({
    target: [channels.tenant, channels.id],
    set: row,
  });
}

export async function deleteChannel(db: Db, tenant: string, id: string): Promise<boolean> {
  const deleted = await db.delete(channels).where(and(eq(channels.tenant, tenant), eq(channels.id, id)))
    .returning({ id: channels.id });
  return deleted.length > 0;
}
