/**
 * Silences: `POST /v1/silences` (Alertmanager's silence body: matchers with `isRegex`
 * and `isEqual` for `=`, `!=`, `=~`, `!~`, a time window, `createdBy` and `comment`),
 * `GET /v1/silences` (`?status=active|pending|expired`), `GET /v1/silences/:id` and
 * `DELETE /v1/silences/:id`, which expires it now, and `GET /v1/silences/:id/history`
 * (its stream). Each change is an event in the
 * silence's stream, with who (the tenant, then `X-Lookout-Actor` or `createdBy`) and
 * why (the comment, or `X-Lookout-Reason` when expiring).
 */
import { Hono } from "hono";
import { z } from "zod";
import { silenceStatus } from "../../domain/alerting/silence.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { Position } from "../../domain/ports/event-store.ts";
import type { SilenceCommands } from "../../commands/silences/silence-commands.ts";
import { parseSilenceSpec } from "../../commands/silences/silence-schema.ts";
import { getSilence, listSilences, type SilenceRow } from "../../read-models/silences-table.ts";
import type { Db } from "../../read-models/rules-table.ts";
import type { TenantEnv } from "./app.ts";

export interface SilenceOptions {
  readonly commands: SilenceCommands;
  readonly db: Db;
  readonly projected: (position: Position) => Promise<boolean>;
  readonly now: () => number;
  readonly newId: () => string;
}

const ListQuery = z.object({ status: z.enum(["active", "pending", "expired"]).optional() });

function view(row: SilenceRow, now: number): Record<string, unknown> {
  const { tenant: _tenant, startsAt, endsAt, updatedAt, ...rest } = row;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ...rest,
    status: { state: silenceStatus(row, now) },
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
    updatedAt: iso(updatedAt),
  };
}

export function silenceRoutes(options: SilenceOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  const who = (tenant: string, actor: string | undefined) => actor ? `${tenant}/${actor}` : tenant;

  app.post("/v1/silences", async (c) => {
    const now = options.now();
    const spec = parseSilenceSpec(await c.req.json(), now);
    const tenant = c.get("tenant");
    const silenceId = options.newId();
    const metadata = {
      who: who(tenant, c.req.header("x-lookout-actor") ?? spec.createdBy),
      why: spec.comment,
      at: now,
    };
    const result = await options.commands.execute(
      { type: "CreateSilence", data: { silenceId, tenant, ...spec }, metadata },
      options.newId(),
    );
    if (result.position !== undefined) await options.projected(result.position);
    const row = await getSilence(options.db, tenant, silenceId);
    c.header("location", `/v1/silences/${silenceId}`);
    return c.json({ silenceID: silenceId, ...(row ? view(row, now) : {}) }, 201);
  });

  app.get("/v1/silences", async (c) => {
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ValidationError(`Cannot list silences: status: ${parsed.error.issues[0].message}`);
    }
    const now = options.now();
    const rows = await listSilences(options.db, c.get("tenant"));
    const wanted = parsed.data.status;
    return c.json({
      silences: rows.filter((r) => wanted === undefined || silenceStatus(r, now) === wanted).map((r) =>
        view(r, now)
      ),
    });
  });

  app.get("/v1/silences/:id", async (c) => {
    const row = await getSilence(options.db, c.get("tenant"), c.req.param("id"));
    if (!row) throw new NotFound(`Cannot read silence ${c.req.param("id")}: no such silence`);
    return c.json(view(row, options.now()));
  });

  app.get("/v1/silences/:id/history", async (c) => {
    const id = c.req.param("id");
    const { history } = await options.commands.history(id);
    const events = history.filter((e) => e.data.tenant === c.get("tenant"));
    if (events.length === 0) throw new NotFound(`Cannot read the history of silence ${id}: no such silence`);
    return c.json({
      id,
      history: events.map((e) => ({
        type: e.type,
        at: new Date(e.metadata.at).toISOString(),
        who: e.metadata.who,
        why: e.metadata.why,
      })),
    });
  });

  app.delete("/v1/silences/:id", async (c) => {
    const silenceId = c.req.param("id");
    const tenant = c.get("tenant");
    const now = options.now();
    const metadata = {
      who: who(tenant, c.req.header("x-lookout-actor")),
      why: c.req.header("x-lookout-reason") ?? "expired by request",
      at: now,
    };
    const result = await options.commands.execute(
      { type: "ExpireSilence", data: { silenceId, tenant }, metadata },
      options.newId(),
    );
    if (result.position !== undefined) await options.projected(result.position);
    return c.body(null, 204);
  });

  return app;
}
