/**
 * Incident endpoints: `GET /v1/incidents` (`?status=firing|acknowledged|resolved`),
 * `GET /v1/incidents/:id`, `POST /v1/incidents/:id/ack` and `/resolve`, and
 * `GET /v1/incidents/:id/timeline`, which replays the incident's stream: every
 * transition with who, why (for the evaluator, the measured cause) and when.
 *
 * Who is the tenant of the API key, followed by `X-Lookout-Actor` when given; why is
 * `X-Lookout-Reason` or the body's `reason`.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { IncidentCommand } from "../../domain/alerting/incident.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { Position } from "../../domain/ports/event-store.ts";
import type { IncidentCommands } from "../../commands/incidents/incident-commands.ts";
import { decodeIncidentEvent } from "../../commands/incidents/incident-schema.ts";
import { getIncident, type IncidentRow, listIncidents } from "../../read-models/incidents-table.ts";
import { type Db, getRule } from "../../read-models/rules-table.ts";
import { listSilences } from "../../read-models/silences-table.ts";
import { silenceMatcher } from "../../domain/alerting/silence.ts";
import type { TenantEnv } from "./app.ts";

export interface IncidentOptions {
  readonly commands: IncidentCommands;
  readonly db: Db;
  readonly projected: (position: Position) => Promise<boolean>;
  readonly now: () => number;
  readonly newId: () => string;
}

const ListQuery = z.object({
  status: z.enum(["firing", "acknowledged", "resolved"]).optional(),
  limit: z.coerce.number().int().positive().max(10_000).default(1000),
});
const ActionBody = z.object({ reason: z.string().max(4096).optional() }).strict();

function view(row: IncidentRow): Record<string, unknown> {
  const { tenant: _tenant, openedAt, updatedAt, resolvedAt, ...rest } = row;
  return {
    ...rest,
    openedAt: new Date(openedAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
    resolvedAt: resolvedAt === null ? null : new Date(resolvedAt).toISOString(),
  };
}

export function incidentRoutes(options: IncidentOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();

  /** The incident as the tenant may see it: another tenant's incident does not exist. */
  const owned = async (c: Context<TenantEnv>, action: string) => {
    const id = c.req.param("id")!;
    const { state, history } = await options.commands.load(id);
    if (state.status === "none" || state.subject.tenant !== c.get("tenant")) {
      throw new NotFound(`Cannot ${action} incident ${id}: no such incident`);
    }
    return { id, history };
  };

  const act =
    (type: "AcknowledgeIncident" | "ResolveIncident", action: string) => async (c: Context<TenantEnv>) => {
      const { id } = await owned(c, action);
      const text = await c.req.text();
      const parsed = ActionBody.safeParse(text.trim() === "" ? {} : JSON.parse(text));
      if (!parsed.success) {
        throw new ValidationError(`Cannot ${action} incident ${id}: ${parsed.error.issues[0].message}`);
      }
      const actor = c.req.header("x-lookout-actor");
      const metadata = {
        who: actor ? `${c.get("tenant")}/${actor}` : c.get("tenant"),
        why: parsed.data.reason ?? c.req.header("x-lookout-reason") ?? "",
        at: options.now(),
      };
      const command: IncidentCommand = type === "AcknowledgeIncident"
        ? { type, data: { incidentId: id }, metadata }
        : { type, data: { incidentId: id, value: undefined }, metadata };
      const result = await options.commands.execute(command, options.newId());
      if (result.position !== undefined) await options.projected(result.position);
      const row = await getIncident(options.db, c.get("tenant"), id);
      return c.json(row ? view(row) : { id, status: result.state.status });
    };

  app.get("/v1/incidents", async (c) => {
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(`Cannot list incidents: ${issue.path.join(".")}: ${issue.message}`);
    }
    return c.json({ incidents: (await listIncidents(options.db, c.get("tenant"), parsed.data)).map(view) });
  });

  app.get("/v1/incidents/:id", async (c) => {
    const row = await getIncident(options.db, c.get("tenant"), c.req.param("id"));
    if (!row) throw new NotFound(`Cannot read incident ${c.req.param("id")}: no such incident`);
    return c.json(view(row));
  });

  app.post("/v1/incidents/:id/ack", act("AcknowledgeIncident", "acknowledge"));
  app.post("/v1/incidents/:id/resolve", act("ResolveIncident", "resolve"));

  app.get("/v1/incidents/:id/timeline", async (c) => {
    const { id, history } = await owned(c, "read the timeline of");
    const silencedBy = await silencesOf(options.db, c.get("tenant"), id);
    return c.json({
      id,
      timeline: history.map((stored) => {
        const event = decodeIncidentEvent(stored);
        const { incidentId: _id, ...data } = event.data;
        return {
          revision: stored.revision,
          type: event.type,
          at: new Date(event.metadata.at).toISOString(),
          // When the store recorded it: beside the evaluation time, how far behind the evaluator ran.
          recordedAt: new Date(stored.recordedAt).toISOString(),
          who: event.metadata.who,
          why: event.metadata.why,
          ...data,
          silencedBy: silencedBy(event.metadata.at),
        };
      }),
    });
  });

  return app;
}

/**
 * The silences that muted the incident's notifications at a given time: recorded
 * transitions stay on the timeline, marked with the silences that kept them quiet.
 */
async function silencesOf(db: Db, tenant: string, id: string): Promise<(at: number) => string[]> {
  const row = await getIncident(db, tenant, id);
  if (row === undefined) return () => [];
  const rule = await getRule(db, tenant, row.ruleId);
  const labels = { alertname: row.ruleName, severity: row.severity, ...rule?.spec.labels, ...row.labels };
  const matching = (await listSilences(db, tenant)).filter((s) => silenceMatcher(s.matchers)(labels));
  return (at) => matching.filter((s) => s.startsAt <= at && at < s.endsAt).map((s) => s.id);
}
