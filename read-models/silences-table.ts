/**
 * The SQL silences table (drizzle): each silence at its latest state, a projection of
 * the silence streams in the event store, for `GET /v1/silences` and for the
 * dispatcher, which leaves out the alerts an active silence matches.
 *
 * @example
 * const muted = await silencesActiveAt(db, "acme", now);
 */
import { and, asc, eq, gt, lte } from "drizzle-orm";
import { bigint, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { Matcher, Silence, SilenceEvent } from "../domain/alerting/silence.ts";
import type { Db } from "./rules-table.ts";

export const silences = pgTable("silences", {
  tenant: text("tenant").notNull(),
  id: text("id").notNull(),
  matchers: jsonb("matchers").$type<Matcher[]>().notNull(),
  startsAt: bigint("starts_at", { mode: "number" }).notNull(),
  endsAt: bigint("ends_at", { mode: "number" }).notNull(),
  createdBy: text("created_by").notNull(),
  comment: text("comment").notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
  updatedBy: text("updated_by").notNull(),
}, (t) => [primaryKey({ columns: [t.tenant, t.id] })]);

export const SILENCES_DDL = `
create table if not exists silences (
  tenant text not null, id text not null, matchers jsonb not null, starts_at bigint not null,
  ends_at bigint not null, created_by text not null, comment text not null, updated_at bigint not null,
  updated_by text not null, primary key (tenant, id)
);`;

export type SilenceRow = typeof silences.$inferSelect;

export async function listSilences(db: Db, tenant: string): Promise<SilenceRow[]> {
  return await db.select().from(silences).where(eq(silences.tenant, tenant)).orderBy(asc(silences.startsAt));
}

export async function getSilence(db: Db, tenant: string, id: string): Promise<SilenceRow | undefined> {
  const [row] = await db.select().from(silences).where(and(eq(silences.tenant, tenant), eq(silences.id, id)));
  return row;
}

export async function silencesActiveAt(db: Db, tenant: string, at: number): Promise<Silence[]> {
  return await db.select().from(silences).where(
    and(eq(silences.tenant, tenant), lte(silences.startsAt, at), gt(silences.endsAt, at)),
  );
}

/** Applies one silence event in the caller's transaction. */
export async function applySilenceEvent(tx: Db, event: SilenceEvent): Promise<void> {
  const { at, who } = event.metadata;
  switch (event.type) {
    case "SilenceCreated": {
      const { silenceId: id, ...rest } = event.data;
      const row = { id, ...rest, matchers: [...rest.matchers], updatedAt: at, updatedBy: who };
      await tx.insert(silences).values(row).onConflictDoNothing();
      return;
    }
    case "SilenceExpired": {
      const [row] = await tx.select().from(silences).where(
        and(eq(silences.tenant, event.data.tenant), eq(silences.id, event.data.silenceId)),
      );
      if (row === undefined) return;
      await tx.update(silences).set({
        startsAt: Math.min(row.startsAt, event.data.endsAt),
        endsAt: event.data.endsAt,
        updatedAt: at,
        updatedBy: who,
      }).where(and(eq(silences.tenant, event.data.tenant), eq(silences.id, event.data.silenceId)));
    }
  }
}
