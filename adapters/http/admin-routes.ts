/**
 * Operator endpoints, authorised by the admin token (`Authorization: Bearer <token>`),
 * never by a tenant's API key: `POST /v1/admin/rebuild` with `{"model":"raw|rollup"}`
 * starts rebuilding a read model from the command log (202 with its status), and
 * `GET /v1/admin/rebuild` reports the progress of the last one. Without a configured
 * token every admin route answers 404, as if it did not exist.
 *
 * @example
 * curl -X POST localhost:8080/v1/admin/rebuild -H "Authorization: Bearer $LOOKOUT_ADMIN_TOKEN" \
 *   -d '{"model":"rollup"}'
 */
import { Hono, type MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { ValidationError } from "../../domain/errors.ts";
import type { ReadModelRebuilds } from "../read-model-rebuild.ts";
import { problem } from "./problem.ts";

export interface AdminOptions {
  /** Undefined: the admin API is off. */
  readonly token?: string;
  readonly rebuilds: ReadModelRebuilds;
}

const RebuildRequest = z.object({ model: z.enum(["raw", "rollup"]) }).strict();

export function adminRoutes(options: AdminOptions): Hono {
  const app = new Hono();
  const expected = options.token === undefined ? undefined : new TextEncoder().encode(options.token);

  const authorise: MiddlewareHandler = async (c, next) => {
    if (!expected) {
      return problem(c, 404, "not_found", "The admin API is off: set LOOKOUT_ADMIN_TOKEN to enable it");
    }
    const given = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization")?.trim() ?? "")?.[1];
    const bytes = new TextEncoder().encode(given ?? "");
    if (bytes.length !== expected.length || !timingSafeEqual(bytes, expected)) {
      return problem(
        c,
        401,
        "unauthorized",
        "The admin API needs Authorization: Bearer <LOOKOUT_ADMIN_TOKEN>",
      );
    }
    await next();
    return undefined;
  };
  app.use("/v1/admin/*", authorise);

  app.post("/v1/admin/rebuild", async (c) => {
    const parsed = RebuildRequest.safeParse(await c.req.json());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(
        `Cannot start a rebuild: ${
          issue.path.join(".") || "body"
        }: ${issue.message} (expected {"model":"raw"} or {"model":"rollup"})`,
      );
    }
    return c.json(options.rebuilds.start(parsed.data.model), 202);
  });

  app.get("/v1/admin/rebuild", (c) => {
    const status = options.rebuilds.status();
    if (!status) return problem(c, 404, "not_found", "No rebuild has run since this process started");
    return c.json(status);
  });
  return app;
}
