/**
 * Alerts in: `POST /api/v2/alerts` in Alertmanager's format
 * (`[{"labels","annotations","startsAt","endsAt","generatorURL"}]`), so Prometheus or
 * vmalert can use Lookout as their Alertmanager (`alerting.alertmanagers` with
 * `authorization.credentials` set to the tenant's key). Each alert fires or resolves
 * the incident of its label set, on the same incident streams, outbox, grouping,
 * silences and channels as Lookout's own rules; its notifications go to every channel of
 * the tenant, or, with a `channel` label, to the channel of that name. Answers `200` as
 * Alertmanager does, or `400` naming the first bad alert.
 */
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { z } from "zod";
import { EXTERNAL_RULE_ID, externalAlertCommand } from "../../domain/alerting/external-alert.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";
import { isValidLabelName } from "../../domain/label-rules.ts";
import { incidentIdFor } from "../../commands/incidents/incident-commands.ts";
import type { TenantEnv } from "./app.ts";
import type { IncidentOptions } from "./incident-routes.ts";

const Instant = z.iso.datetime({ offset: true, error: "must be an RFC 3339 time" });
const labelName = z.string().refine(isValidLabelName, "must be a label name");
const AlertsBody = z.array(
  z.object({
    labels: z.record(labelName, z.string().max(2048)).refine(
      (labels) => (labels.alertname ?? "") !== "",
      "needs an alertname label",
    ),
    annotations: z.record(z.string(), z.string().max(16_384)).default({}),
    startsAt: Instant.optional(),
    endsAt: Instant.optional(),
    generatorURL: z.string().max(4096).optional(),
  }).passthrough(),
).max(10_000);

export function alertIntakeRoutes(options: IncidentOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();

  app.post("/api/v2/alerts", async (c) => {
    const parsed = AlertsBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(`Cannot accept alerts: ${issue.path.join(".") || "body"}: ${issue.message}`);
    }
    const tenant = c.get("tenant");
    const now = options.now();
    let last: bigint | undefined;
    for (const raw of parsed.data) {
      const alert = {
        labels: raw.labels,
        annotations: raw.annotations,
        startsAt: raw.startsAt === undefined ? undefined : Date.parse(raw.startsAt),
        endsAt: raw.endsAt === undefined ? undefined : Date.parse(raw.endsAt),
        generatorURL: raw.generatorURL,
      };
      const labelSet = JSON.stringify(Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      const incidentId = incidentIdFor(tenant, EXTERNAL_RULE_ID, labelSet);
      const command = externalAlertCommand(tenant, incidentId, alert, {
        who: `${tenant}/${c.req.header("user-agent")?.split(" ")[0] ?? "alertmanager-api"}`,
        why: "",
        at: now,
      });
      // The same alert reported again (a sender's resend) is the same command.
      const commandId = createHash("sha256")
        .update(`${incidentId}\u0000${command.type}\u0000${alert.startsAt ?? ""}`).digest("hex");
      try {
        const result = await options.commands.execute(command, commandId);
        if (result.position !== undefined) last = result.position;
      } catch (error) {
        // A resolution of an alert never seen firing has nothing to resolve.
        if (!(error instanceof NotFound)) throw error;
      }
    }
    if (last !== undefined) await options.projected(last);
    return c.body(null, 200);
  });

  return app;
}
