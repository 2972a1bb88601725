/**
 * Polling rules end to end with the real program: rules with `mode: "polling"` are
 * evaluated every second (LOOKOUT_POLL_INTERVAL_MS) over the 1m rollups in ClickHouse,
 * and fire and resolve incidents with the same events and notifications as streaming
 * rules. The evaluation delay moves the window back: a rule with `evaluationDelay: 10m`
 * fires on samples from 11 minutes ago and ignores the last minute's, and a rule without
 * one does the opposite.
 */
import assert from "node:assert/strict";
import { withProgram } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";
import { ALERTING_TEST_ENV, cpuHighSpec, oncallChannel } from "../support/rule-spec.ts";
import { webhookReceiver } from "../support/webhook-receiver.ts";

const KEY = "acme-polling-key-0c4e";
const MINUTE = 60_000;

Deno.test({
  name: "polling rules over the rollups: fire and resolve incidents, evaluation delay honoured",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const hook = webhookReceiver<{ alerts: { status: string; labels: Record<string, string> }[] }>();
  const seen = () =>
    hook.received.flatMap((r) =>
      r.body.alerts.map((a) => `${a.status}:${a.labels.alertname}:${a.labels.host}`)
    );
  try {
    await withProgram({
      tenants: { acme: KEY },
      readyTimeoutMs: 180_000,
      env: {
        ...ALERTING_TEST_ENV,
        LOOKOUT_POLL_INTERVAL_MS: "1000",
        LOOKOUT_ALLOWED_LATENESS_SECONDS: "1800",
      },
    }, async (program) => {
      const channel = await oncallChannel(program, KEY, hook.url);
      const polling = (name: string, evaluationDelay: string) =>
        cpuHighSpec({
          name,
          metric: "disk_used",
          agg: "last",
          window: "2m",
          for: "0s",
          noData: undefined,
          evaluationDelay,
          mode: "polling",
          // Polling rules wait Alertmanager's 30 s by default before a new group's first notification.
          notify: { groupWait: "1s" },
          channels: [channel],
        });
      for (const spec of [polling("disk_now", "0s"), polling("disk_delayed", "10m")]) {
        const reply = await program.post("/v1/rules", spec, { key: KEY });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
      }

      const send = async (host: string, at: number, value: number) => {
        const reply = await program.post("/v1/samples", {
          metric: "disk_used",
          labels: { service: "api", host },
          timestamps: [at],
          values: [value],
        }, { key: KEY });
        assert.equal(reply.status, 202, JSON.stringify(reply.body));
      };
      // Both windows survive one minute boundary passing during the test:
      // disk_now reads [m−2m, m) and disk_delayed [m−12m, m−10m), for the minute m.
      const m = Math.floor(Date.now() / MINUTE) * MINUTE;
      await send("old", m - 11 * MINUTE, 95);
      await send("recent", m - 30_000, 95);
      await waitFor(() => seen().length >= 2 || undefined, 60_000, { what: "two firing notifications" });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.deepEqual(seen().sort(), ["firing:disk_delayed:old", "firing:disk_now:recent"]);

      // The latest sample of "recent" clears: disk_now resolves on the next evaluation.
      await send("recent", m - 10_000, 10);
      await waitFor(() => seen().length >= 3 || undefined, 60_000, { what: "the resolution" });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(seen().slice(2), ["resolved:disk_now:recent"]);

      const incidents = await program.get("/v1/incidents", KEY);
      const rows =
        (incidents.body as { incidents: { id: string; ruleName: string; status: string }[] }).incidents;
      const now = rows.find((i) => i.ruleName === "disk_now")!;
      assert.equal(now.status, "resolved");
      const timeline = await program.get(`/v1/incidents/${now.id}/timeline`, KEY);
      assert.deepEqual(
        (timeline.body as { timeline: { type: string; who: string; why: string }[] }).timeline
          .map((e) => [e.type, e.who, e.why]),
        [
          ["IncidentOpened", "evaluator:polling", "last(disk_used) = 95 > 90 (critical)"],
          ["IncidentFired", "evaluator:polling", "last(disk_used) = 95 > 90 (critical)"],
          ["IncidentResolved", "evaluator:polling", "last(disk_used) = 10 no longer breaches"],
        ],
      );
    });
  } finally {
    await hook.close();
  }
});
