/**
 * The SQL rules table (drizzle on PGlite or Postgres): a projection of the rule streams
 * in the event store, never written by the API. `rules` holds each live rule at its
 * current version; `rule_versions` holds every version with the interval it was in
 * force, so the rule set as of any instant is one indexed query. The projection's
 * position is stored in the same transaction as its writes, so a replay after a crash
 * neither skips nor repeats an event.
 *
 * @example
 * await ensureRulesSchema(sql);
 * const live = await listRules(sql.drizzle, "acme");
 * const then = await rulesAsOf(sql.drizzle, "acme", Date.parse("2026-11-30T12:00:00Z"));
 */
import { and, asc, eq, gt, isNull, lte, or } from "drizzle-orm";
import {
  bigint,
  integer,
  jsonb,
  type PgDatabase,
  type PgQueryResultHKT,
  pgTable,
  primaryKey,
  text,
} from "drizzle-orm/pg-core";
import type { ChangeMetadata } from "../domain/alerting/message.ts";
import type { RuleSpec } from "../domain/alerting/rule.ts";
import type { RuleEvent } from "../domain/alerting/rule-stream.ts";

/** Anything drizzle can run statements on: the database or one of its transactions. */
export type Db = PgDatabase<PgQueryResultHKT>;

export const rules = pgTable("rules", {
  tenant: text("tenant").notNull(),
  id: text("id").notNull(),
  name: text("name").notNull(),
  mode: text("mode").notNull(),
  metric: text("metric").notNull(),
  version: integer("version").notNull(),
  spec: jsonb("spec").$type<RuleSpec>().notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
  updatedBy: text("updated_by").notNull(),
}, (t) => [primaryKey({ columns: [t.tenant, t.id] })]);

export const ruleVersions = pgTable("rule_versions", {
  tenant: text("tenant").notNull(),
  id: text("id").notNull(),
  version: integer("version").notNull(),
  spec: jsonb("spec").$type<RuleSpec>().notNull(),
  validFrom: bigint("valid_from", { mode: "number" }).notNull(),
  validTo: bigint("valid_to", { mode: "number" }),
}, (t) => [primaryKey({ columns: [t.id, t.version] })]);

export const projectionCheckpoints = pgTable("projection_checkpoints", {
  name: text("name").primaryKey(),
  position: bigint("position", { mode: "bigint" }).notNull(),
});

/** drizzle-kit is a build tool this project does not run; the DDL mirrors the tables above. */
export const RULES_DDL = `
create table if not exists rules (
  tenant text not null, id text not null, name text not null, mode text not null, metric text not null,
  version integer not null, spec jsonb not null, updated_at bigint not null, updated_by text not null,
  primary key (tenant, id)
);
create table if not exists rule_versions (
  tenant text not null, id text not null, version integer not null, spec jsonb not null,
  valid_from bigint not null, valid_to bigint,
  primary key (id, version)
);
create index if not exists rule_versions_tenant_time on rule_versions (tenant, valid_from);
create table if not exists projection_checkpoints (name text primary key, position bigint not null);`;

export interface RuleRow {
  readonly tenant: string;
  readonly id: string;
  readonly version: number;
  readonly spec: RuleSpec;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

export async function listRules(db: Db, tenant: string): Promise<RuleRow[]> {
  return await db.select().from(rules).where(eq(rules.tenant, tenant)).orderBy(
    asc(rules.name),
    asc(rules.id),
  );
}

/** Every live rule of every tenant in one mode, for an evaluator to load. */
export async function listRulesByMode(db: Db, mode: string): Promise<RuleRow[]> {
  return await db.select().from(rules).where(eq(rules.mode, mode)).orderBy(asc(rules.tenant), asc(rules.id));
}

export async function getRule(db: Db, tenant: string, id: string): Promise<RuleRow | undefined> {
  const [row] = await db.select().from(rules).where(and(eq(rules.tenant, tenant), eq(rules.id, id)));
  return row;
}

/** Every rule of the tenant in force at `at`, at the version it had then. */
export async function rulesAsOf(
  db: Db,
  tenant: string,
  at: number,
): Promise<{ id: string; version: number; spec: RuleSpec }[]> {
  return await db.select({ id: ruleVersions.id, version: ruleVersions.version, spec: ruleVersions.spec })
    .from(ruleVersions)
    .where(and(
      eq(ruleVersions.tenant, tenant),
      lte(ruleVersions.validFrom, at),
      or(isNull(ruleVersions.validTo), gt(ruleVersions.validTo, at)),
    ))
    .orderBy(asc(ruleVersions.id));
}

export async function readCheckpoint(db: Db, name: string): Promise<bigint | undefined> {
  const [row] = await db.select().from(projectionCheckpoints).where(eq(projectionCheckpoints.name, name));
  return row?.position;
}

/** Records that a projection has applied every event up to `position`, in the caller's transaction. */
export async function saveCheckpoint(tx: Db, checkpoint: { name: string; position: bigint }): Promise<void> {
  await tx.insert(projectionCheckpoints).values(checkpoint).onConflictDoUpdate({
    target: projectionCheckpoints.name,
    set: { position: checkpoint.position },
  });
}

/** Applies one rule event at stream revision `revision`, in the caller's transaction. */
export async function applyRuleEvent(tx: Db, event: RuleEvent, revision: number): Promise<void> {
  const { ruleId: id, tenant } = event.data;
  const { at, who } = event.metadata as ChangeMetadata;
  const version = revision + 1;
  await tx.update(ruleVersions).set({ validTo: at }).where(
    and(eq(ruleVersions.id, id), isNull(ruleVersions.validTo)),
  );
  switch (event.type) {
    case "RuleCreated":
    case "RuleUpdated": {
      const { spec } = event.data;
      const row = {
        tenant,
        id,
        name: spec.name,
        mode: spec.mode,
        metric: spec.metric,
        version,
        spec,
        updatedAt: at,
        updatedBy: who,
      };
      await tx.insert(rules).values(row).onConflictDoUpdate({ target: [rules.tenant, rules.id], set: row });
      await tx.insert(ruleVersions).values({ tenant, id, version, spec, validFrom: at, validTo: null })
        .onConflictDoNothing();
      break;
    }
    case "RuleDeleted":
      await tx.delete(rules).where(and(eq(rules.tenant, tenant), eq(rules.id, id)));
      break;
  }
}
