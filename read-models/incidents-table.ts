/**
 * The SQL incidents table (drizzle): one row per incident with its current status,
 * a projection of the incident streams, for `GET /v1/incidents`. The timeline itself
 * is read from the incident's stream.
 *
 * @example
 * const open = await listIncidents(db, "acme", { status: "firing" });
 */
import { and, desc, eq, ne } from "drizzle-orm";
import { bigint, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { IncidentEvent } from "../domain/alerting/incident.ts";
import type { Db } from "./rules-table.ts";

export const incidents = pgTable("incidents", {
  tenant: text("tenant").notNull(),
  id: text("id").notNull(),
  ruleId: text("rule_id").notNull(),
  ruleName: text("rule_name").notNull(),
  severity: text("severity").notNull(),
  labels: jsonb("labels").$type<Record<string, string>>().notNull(),
  status: text("status").notNull(),
  level: text("level").notNull(),
  openedAt: bigint("opened_at", { mode: "number" }).notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
  acknowledgedBy: text("acknowledged_by"),
  resolvedAt: bigint("resolved_at", { mode: "number" }),
  version: integer("version").notNull(),
}, (t) => [primaryKey({ columns: [t.tenant, t.id] })]);

export const INCIDENTS_DDL = `
create table if not exists incidents (
  tenant text not null, id text not null, rule_id text not null, rule_name text not null, severity text not null,
  labels jsonb not null, status text not null, level text not null, opened_at bigint not null,
  updated_at bigint not null, acknowledged_by text, resolved_at bigint, version integer not null,
  primary key (tenant, id)
);
create index if not exists incidents_tenant_status on incidents (tenant, status, updated_at);`;

export type IncidentRow = typeof incidents.$inferSelect;

export async function listIncidents(
  db: Db,
  tenant: string,
  filter: { status?: string; limit?: number } = {},
) {
  return await db.select().from(incidents)
    .where(
      filter.status
        ? and(eq(incidents.tenant, tenant), eq(incidents.status, filter.status))
        : eq(incidents.tenant, tenant),
    )
    .orderBy(desc(incidents.updatedAt))
    .limit(filter.limit ?? 1000);
}

export async function getIncident(db: Db, tenant: string, id: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(
    and(eq(incidents.tenant, tenant), eq(incidents.id, id)),
  );
  return row;
}

/** Incidents not resolved, of every tenant (for an evaluator restoring its groups). */
export async function openIncidents(db: Db): Promise<IncidentRow[]> {
  return await db.select().from(incidents).where(ne(incidents.status, "resolved"));
}

/** An incident by id alone, for projections that have no tenant at hand (ids are unique across tenants). */
export async function getIncidentById(db: Db, id: string): Promise<IncidentRow | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  return row;
}

/** Applies one incident event (at stream `revision`) in the caller's transaction. */
export async function applyIncidentEvent(tx: Db, event: IncidentEvent, revision: number): Promise<void> {
  const at = event.metadata.at;
  const version = revision + 1;
  if (event.type === "IncidentOpened") {
    const { incidentId: id, ...subject } = event.data;
    const row = {
      id,
      ...subject,
      labels: { ...subject.labels },
      status: "firing",
      level: "critical",
      openedAt: at,
      updatedAt: at,
      version,
    };
    await tx.insert(incidents).values(row).onConflictDoNothing();
    return;
  }
  const change = (() => {
    switch (event.type) {
      case "IncidentFired":
        return { level: event.data.level };
      case "IncidentEscalated":
        return { level: event.data.to };
      case "IncidentAcknowledged":
        return { status: "acknowledged", acknowledgedBy: event.metadata.who };
      case "IncidentResolved":
        return { status: "resolved", resolvedAt: at };
      case "IncidentReopened":
        return { status: "firing", acknowledgedBy: null, resolvedAt: null };
    }
  })();
  await tx.update(incidents).set({ ...change, updatedAt: at, version }).where(
    eq(incidents.id, event.data.incidentId),
  );
}
