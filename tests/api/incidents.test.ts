/**
 * Streaming evaluation to incidents through the real app: samples posted to ingest,
 * the evaluator as a consumer group of the SQLite log, incidents in the PGlite event
 * store and table, read and acted on through the API. Sample times are real time
 * (ingest checks them); each case uses its own tenant-wide rule and hosts.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../adapters/postgres/sql-client.ts";
import { scratchPglite } from "../support/postgres.ts";
import { StreamingEvaluator } from "../../adapters/streaming-evaluator.ts";
import { waitFor } from "../support/wait-for.ts";
import { ACME, GLOBEX, openRulesApp, type RulesApp } from "../support/rules-app.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

let pglite: Promise<SqlClient> | undefined;

function incidentCase(title: string, body: (app: RulesApp) => Promise<void>): void {
  Deno.test({
    name: `incidents: ${title}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      pglite ??= scratchPglite();
      const sql = await pglite;
      const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      await sql.exec(`create schema ${schema}; set search_path to ${schema}`);
      const app = await openRulesApp({ ...sql, close: () => Promise.resolve() });
      try {
        await body(app);
      } finally {
        await app.close();
        await sql.exec(`drop schema ${schema} cascade`);
      }
    },
  });
}

const headers = (extra: Record<string, string> = {}) => ({
  ...ACME,
  "content-type": "application/json",
  ...extra,
});

async function createRule(
  app: RulesApp,
  spec = cpuHighSpec({ for: "10s", window: "30s", noData: undefined }),
) {
  const response = await app.request("/v1/rules", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify(spec),
  });
  assert.equal(response.status, 201);
  const id = (await response.json()).id as string;
  await waitFor(() => app.alerting.evaluator.ruleVersions.has(id) || undefined, 10_000, {
    what: "the evaluator loaded the rule",
  });
  return id;
}

async function send(app: RulesApp, host: string, points: [ts: number, value: number][]): Promise<void> {
  const body = JSON.stringify({
    metric: "cpu_usage",
    labels: { service: "api", host },
    timestamps: points.map(([ts]) => ts),
    values: points.map(([, v]) => v),
  });
  const response = await app.request("/v1/samples", { method: "POST", headers: headers(), body });
  assert.equal(response.status, 202, await response.clone().text());
}

async function incidents(app: RulesApp, query = "") {
  return (await (await app.request(`/v1/incidents${query}`, { headers: ACME })).json()).incidents as {
    id: string;
    status: string;
    level: string;
    labels: Record<string, string>;
    acknowledgedBy: string | null;
  }[];
}

async function timeline(app: RulesApp, id: string) {
  return (await (await app.request(`/v1/incidents/${id}/timeline`, { headers: ACME })).json()).timeline as {
    type: string;
    who: string;
    why: string;
    recordedAt: string;
  }[];
}

async function evaluatorCaughtUp(app: RulesApp): Promise<void> {
  await waitFor(
    async () => {
      const offsets = await app.log.offsets("metrics.samples", "alerts");
      return offsets.every((o) => (o.committed ?? 0) === o.end) || undefined;
    },
    10_000,
    { what: "the evaluator committed every sample" },
  );
}

incidentCase(
  "a breach held for `for` opens a firing incident; ack, recovery and the timeline follow",
  async (app) => {
    await createRule(app);
    const t = Date.now() - 60_000;
    await send(app, "web-1", [[t, 95], [t + 5_000, 96]]);
    await send(app, "web-2", [[t, 40]]);
    await evaluatorCaughtUp(app);
    assert.deepEqual(await incidents(app), [], "pending is not an incident yet");

    // One step per batch at its newest sample: pending since t+5 s, so t+15 s fires.
    await send(app, "web-1", [[t + 15_000, 97]]);
    const [open] = await waitFor(
      async () => {
        const list = await incidents(app);
        return list.length === 1 ? list : undefined;
      },
      10_000,
      { what: "one incident" },
    );
    assert.deepEqual([open.status, open.level, open.labels], ["firing", "critical", { host: "web-1" }]);

    const ack = await app.request(`/v1/incidents/${open.id}/ack`, {
      method: "POST",
      headers: headers({ "x-lookout-actor": "alice" }),
      body: JSON.stringify({ reason: "looking" }),
    });
    assert.equal(ack.status, 200);
    assert.deepEqual([(await ack.json()).status], ["acknowledged"]);

    // Hysteresis: 70 brings the 30 s average to 89.5, above the 80 recovery; 40s later only 50s remain.
    await send(app, "web-1", [[t + 15_000, 70]]);
    await evaluatorCaughtUp(app);
    assert.equal((await incidents(app))[0].status, "acknowledged");
    await send(app, "web-1", [[t + 55_000, 50]]);
    await waitFor(async () => (await incidents(app, "?status=resolved")).length === 1 || undefined, 10_000, {
      what: "the incident resolved",
    });

    const events = await timeline(app, open.id);
    assert.deepEqual(events.map((e) => [e.type, e.who]), [
      ["IncidentOpened", "evaluator:streaming"],
      ["IncidentFired", "evaluator:streaming"],
      ["IncidentAcknowledged", "acme/alice"],
      ["IncidentResolved", "evaluator:streaming"],
    ]);
    assert.equal(events[1].why, "avg(cpu_usage) = 96 > 90 (critical)");
    assert.equal(events[2].why, "looking");
    assert.equal(events[3].why, "avg(cpu_usage) = 50 no longer breaches");
    // Recorded on the store's clock (the wall clock), not the evaluation time the test's clock gives.
    const recorded = events.map((e) => Date.parse(e.recordedAt));
    assert.ok(
      recorded.every((t, i) => t <= Date.now() && t > Date.now() - 600_000 && t >= (recorded[i - 1] ?? t)),
    );
    assert.equal((await app.request(`/v1/incidents/${open.id}/timeline`, { headers: GLOBEX })).status, 404);
    assert.deepEqual(await (await app.request("/v1/incidents", { headers: GLOBEX })).json(), {
      incidents: [],
    });
    const again = await app.request(`/v1/incidents/${open.id}/ack`, { method: "POST", headers: headers() });
    assert.equal(again.status, 409, "a resolved incident cannot be acknowledged");
  },
);

incidentCase("an evaluator restarted while pending keeps the pending start and fires once", async (app) => {
  await createRule(app);
  const t = Date.now() - 60_000;
  await send(app, "db-1", [[t, 95], [t + 4_000, 95]]);
  await evaluatorCaughtUp(app);
  await app.alerting.evaluator.stop();

  // Samples that arrive while no evaluator runs are left uncommitted.
  await send(app, "db-1", [[t + 15_000, 95]]);
  const restarted = new StreamingEvaluator({
    ...(app.alerting.evaluator as unknown as { options: ConstructorParameters<typeof StreamingEvaluator>[0] })
      .options,
  });
  void restarted.start();
  try {
    const [incident] = await waitFor(
      async () => {
        const list = await incidents(app);
        return list.length === 1 ? list : undefined;
      },
      10_000,
      { what: "the incident after the restart" },
    );
    assert.equal(incident.status, "firing", "fired at t+15 s: the pending start t+4 s survived the restart");
    await send(app, "db-1", [[t + 16_000, 96]]);
    await waitFor(async () => {
      const offsets = await app.log.offsets("metrics.samples", "alerts");
      return offsets.every((o) => (o.committed ?? 0) === o.end) || undefined;
    }, 10_000);
    assert.deepEqual((await timeline(app, incident.id)).map((e) => e.type), [
      "IncidentOpened",
      "IncidentFired",
    ]);
  } finally {
    await restarted.stop();
  }
});
