/**
 * Notification channels: `POST/GET/PUT/DELETE /v1/channels` with
 * `{"name","type","url","secret"}`, types `webhook`, `alertmanager-webhook`,
 * `alertmanager` and `slack`. The URL's host must resolve to an address the guard
 * allows (checked again at every connect). The secret is write-only: answers say
 * only whether one is set.
 */
import { Hono } from "hono";
import { z } from "zod";
import { CHANNEL_TYPES } from "../../domain/alerting/notification.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import {
  type ChannelRow,
  deleteChannel,
  getChannel,
  listChannels,
  putChannel,
} from "../../read-models/channels-table.ts";
import type { Db } from "../../read-models/rules-table.ts";
import type { AddressGuard } from "../notifier/address-guard.ts";
import type { TenantEnv } from "./app.ts";

export interface ChannelOptions {
  readonly db: Db;
  readonly guard: AddressGuard;
  readonly now: () => number;
  readonly newId: () => string;
}

const ChannelBody = z.object({
  name: z.string().min(1).max(256),
  type: z.enum(CHANNEL_TYPES),
  url: z.url({ protocol: /^https?$/, error: "must be an http or https URL" }),
  secret: z.string().max(1024).default(""),
}).strict();

function parse(input: unknown, action: string) {
  const result = ChannelBody.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ValidationError(`Cannot ${action}: ${issue.path.join(".") || "body"}: ${issue.message}`);
}

function view(row: ChannelRow): Record<string, unknown> {
  const { tenant: _tenant, secret, updatedAt, ...rest } = row;
  return { ...rest, hasSecret: secret.length > 0, updatedAt: new Date(updatedAt).toISOString() };
}

export function channelRoutes(options: ChannelOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();

  app.post("/v1/channels", async (c) => {
    const body = parse(await c.req.json(), "create channel");
    await options.guard.check(new URL(body.url));
    const row: ChannelRow = {
      tenant: c.get("tenant"),
      id: options.newId(),
      ...body,
      version: 1,
      updatedAt: options.now(),
    };
    await putChannel(options.db, row);
    c.header("location", `/v1/channels/${row.id}`);
    return c.json(view(row), 201);
  });

  app.get(
    "/v1/channels",
    async (c) => c.json({ channels: (await listChannels(options.db, c.get("tenant"))).map(view) }),
  );

  app.get("/v1/channels/:id", async (c) => {
    const row = await getChannel(options.db, c.get("tenant"), c.req.param("id"));
    if (!row) throw new NotFound(`Cannot read channel ${c.req.param("id")}: no such channel`);
    return c.json(view(row));
  });

  app.put("/v1/channels/:id", async (c) => {
    const id = c.req.param("id");
    const existing = await getChannel(options.db, c.get("tenant"), id);
    if (!existing) throw new NotFound(`Cannot update channel ${id}: no such channel`);
    const body = parse(await c.req.json(), `update channel ${id}`);
    await options.guard.check(new URL(body.url));
    const row: ChannelRow = { ...existing, ...body, version: existing.version + 1, updatedAt: options.now() };
    await putChannel(options.db, row);
    return c.json(view(row));
  });

  app.delete("/v1/channels/:id", async (c) => {
    const deleted = await deleteChannel(options.db, c.get("tenant"), c.req.param("id"));
    if (!deleted) throw new NotFound(`Cannot delete channel ${c.req.param("id")}: no such channel`);
    return c.body(null, 204);
  });

  return app;
}
