/**
 * Rule endpoints: `POST/GET/PUT/DELETE /v1/rules`, `GET /v1/rules/:id/history` and the
 * rule set as of an instant (`GET /v1/rules?asOf=`). Changes go through the rule
 * commands (log + event store); reads come from the SQL rules table, after waiting
 * until the request's own change is projected. `ETag` is the rule's version;
 * `If-Match` with a stale version gets `409`.
 *
 * Who made a change is the tenant of the API key, followed by the `X-Lookout-Actor`
 * header when given (`acme/alice`); why is the `X-Lookout-Reason` header.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { ChangeMetadata } from "../../domain/alerting/message.ts";
import type { RuleSpec } from "../../domain/alerting/rule.ts";
import type { RuleCommand } from "../../domain/alerting/rule-stream.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import type { EventStore, Position } from "../../domain/ports/event-store.ts";
import { type RuleCommands, ruleStreamId } from "../../commands/rules/rule-commands.ts";
import { decodeRuleEvent, parseRuleSpec } from "../../commands/rules/rule-schema.ts";
import { type Db, getRule, listRules, rulesAsOf } from "../../read-models/rules-table.ts";
import type { TenantEnv } from "./app.ts";

export interface RuleOptions {
  readonly commands: RuleCommands;
  readonly store: EventStore;
  readonly db: Db;
  readonly projected: (position: Position) => Promise<boolean>;
  readonly now: () => number;
  readonly newId: () => string;
}

const AsOf = z.string().transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: "must be an RFC 3339 time or ms since the epoch" });
  }
  return ms;
});

interface RuleView {
  tenant?: string;
  id: string;
  version: number;
  spec: RuleSpec;
  updatedAt?: number;
  updatedBy?: string;
}

function view(rule: RuleView): Record<string, unknown> {
  const { spec, tenant: _tenant, ...rest } = rule;
  return {
    ...rest,
    ...spec,
    ...(rule.updatedAt === undefined ? {} : { updatedAt: new Date(rule.updatedAt).toISOString() }),
  };
}

/** `If-Match: "3"` (or W/"3", or 3) as a version; absent: undefined. */
function ifMatch(c: Context): number | undefined {
  const header = c.req.header("if-match");
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) {
    throw new ValidationError(`Cannot change rule: If-Match "${header}" is not a rule version such as "3"`);
  }
  return Number(match[1]);
}

export function ruleRoutes(options: RuleOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  const metadata = (c: Context<TenantEnv>): ChangeMetadata => {
    const actor = c.req.header("x-lookout-actor");
    return {
      who: actor ? `${c.get("tenant")}/${actor}` : c.get("tenant"),
      why: c.req.header("x-lookout-reason") ?? "",
      at: options.now(),
    };
  };
  const run = async (command: RuleCommand) => {
    const result = await options.commands.execute(command, options.newId());
    if (result.position !== undefined) await options.projected(result.position);
    return result.state;
  };
  const currentVersion = async (c: Context<TenantEnv>, ruleId: string) => {
    const expected = ifMatch(c);
    if (expected !== undefined) return expected;
    const { state } = await options.commands.load(ruleId);
    return state.status === "absent" ? 0 : state.version;
  };

  app.post("/v1/rules", async (c) => {
    const spec = parseRuleSpec(await c.req.json(), "create rule");
    const tenant = c.get("tenant");
    const ruleId = options.newId();
    const meta = metadata(c);
    await run({ type: "CreateRule", data: { ruleId, tenant, spec }, metadata: meta });
    c.header("etag", `"1"`);
    c.header("location", `/v1/rules/${ruleId}`);
    return c.json(view({ id: ruleId, version: 1, spec, updatedAt: meta.at, updatedBy: meta.who }), 201);
  });

  app.get("/v1/rules", async (c) => {
    const tenant = c.get("tenant");
    const asOfText = c.req.query("asOf");
    if (asOfText === undefined) return c.json({ rules: (await listRules(options.db, tenant)).map(view) });
    const parsed = AsOf.safeParse(asOfText);
    if (!parsed.success) {
      throw new ValidationError(`Cannot list rules: asOf: ${parsed.error.issues[0].message}`);
    }
    const rules = await rulesAsOf(options.db, tenant, parsed.data);
    return c.json({ asOf: new Date(parsed.data).toISOString(), rules: rules.map(view) });
  });

  app.get("/v1/rules/:id", async (c) => {
    const rule = await getRule(options.db, c.get("tenant"), c.req.param("id"));
    if (!rule) throw new NotFound(`Cannot read rule ${c.req.param("id")}: no such rule`);
    c.header("etag", `"${rule.version}"`);
    return c.json(view(rule));
  });

  app.put("/v1/rules/:id", async (c) => {
    const ruleId = c.req.param("id");
    const spec = parseRuleSpec(await c.req.json(), `update rule ${ruleId}`);
    const expectedVersion = await currentVersion(c, ruleId);
    const meta = metadata(c);
    const state = await run({
      type: "UpdateRule",
      data: { ruleId, tenant: c.get("tenant"), spec, expectedVersion },
      metadata: meta,
    });
    const version = state.status === "absent" ? 0 : state.version;
    c.header("etag", `"${version}"`);
    return c.json(view({ id: ruleId, version, spec, updatedAt: meta.at, updatedBy: meta.who }));
  });

  app.delete("/v1/rules/:id", async (c) => {
    const ruleId = c.req.param("id");
    const expectedVersion = await currentVersion(c, ruleId);
    await run({
      type: "DeleteRule",
      data: { ruleId, tenant: c.get("tenant"), expectedVersion },
      metadata: metadata(c),
    });
    return c.body(null, 204);
  });

  app.get("/v1/rules/:id/history", async (c) => {
    const ruleId = c.req.param("id");
    const events = (await options.store.readStream(ruleStreamId(ruleId))).map((stored) => ({
      stored,
      event: decodeRuleEvent(stored),
    }));
    if (events.length === 0 || events[0].event.data.tenant !== c.get("tenant")) {
      throw new NotFound(`Cannot read the history of rule ${ruleId}: no such rule`);
    }
    return c.json({
      id: ruleId,
      history: events.map(({ stored, event }) => ({
        version: stored.revision + 1,
        type: event.type,
        at: new Date(event.metadata.at).toISOString(),
        who: event.metadata.who,
        why: event.metadata.why,
        ...("spec" in event.data ? { spec: event.data.spec } : {}),
      })),
    });
  });

  return app;
}
