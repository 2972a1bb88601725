/**
 * Alerts in, end to end with the real program: `POST /api/v2/alerts` in Alertmanager's
 * format opens, repeats and resolves an incident and notifies the tenant's channel
 * through the same outbox as Lookout's rules (exact payload, as Prometheus sends it);
 * then a real Prometheus (Debian's `prometheus`) with Lookout as its Alertmanager fires
 * an alerting rule and, after the rule is changed and reloaded, resolves it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findBinary } from "../support/installed-binary.ts";
import { type Program, withProgram } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";
import { ALERTING_TEST_ENV, oncallChannel } from "../support/rule-spec.ts";
import { type WebhookReceiver, webhookReceiver } from "../support/webhook-receiver.ts";

const prometheus = findBinary("prometheus", "apt-get install -y prometheus");
const KEY = "acme-alerts-in-key-6b0d";

interface AlertsBody {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}
type Receiver = WebhookReceiver<AlertsBody>;

async function withReceiver(work: (program: Program, hook: Receiver) => Promise<void>) {
  const hook = webhookReceiver<AlertsBody>();
  try {
    await withProgram(
      { tenants: { acme: KEY }, env: ALERTING_TEST_ENV, readyTimeoutMs: 180_000 },
      async (program) => {
        await oncallChannel(program, KEY, hook.url);
        await work(program, hook);
      },
    );
  } finally {
    await hook.close();
  }
}

const statuses = (hook: Receiver) =>
  hook.received.map((r) => r.body.alerts.map((a) => `${a.status}:${a.labels.alertname}`).join(","));

Deno.test({
  name: "alerts in: Alertmanager's payload fires, repeats without a second notification, and resolves",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await withReceiver(async (program, hook) => {
    const startsAt = new Date(Date.now() - 30_000).toISOString();
    const alert = {
      labels: { alertname: "DiskFull", instance: "db-1:9100", severity: "page" },
      annotations: { summary: "disk of db-1 is 97% full" },
      startsAt,
      endsAt: new Date(Date.now() + 240_000).toISOString(),
      generatorURL: "http://prometheus:9090/graph?g0.expr=disk_used%3E0.95",
    };
    const bad = await program.post("/api/v2/alerts", [{ labels: { instance: "x" } }], { key: KEY });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /alertname/);
    const unauthenticated = await program.post("/api/v2/alerts", [alert]);
    assert.equal(unauthenticated.status, 401);

    assert.equal((await program.post("/api/v2/alerts", [alert], { key: KEY })).status, 200);
    await waitFor(() => hook.received.length >= 1 || undefined, 30_000, { what: "the firing notification" });
    // Prometheus resends a firing alert every minute with a later endsAt.
    const again = { ...alert, endsAt: new Date(Date.now() + 300_000).toISOString() };
    assert.equal((await program.post("/api/v2/alerts", [again], { key: KEY })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.deepEqual(statuses(hook), ["firing:DiskFull"], "a repeat is no new notification");
    const [firing] = hook.received[0].body.alerts;
    assert.deepEqual(firing.labels, { alertname: "DiskFull", instance: "db-1:9100", severity: "page" });
    assert.equal(firing.annotations.summary, "disk of db-1 is 97% full");

    const resolved = { ...alert, endsAt: new Date(Date.now() - 1_000).toISOString() };
    assert.equal((await program.post("/api/v2/alerts", [resolved], { key: KEY })).status, 200);
    await waitFor(() => hook.received.length >= 2 || undefined, 30_000, {
      what: "the resolved notification",
    });
    assert.deepEqual(statuses(hook), ["firing:DiskFull", "resolved:DiskFull"]);
    assert.equal(hook.received[1].body.alerts[0].annotations.summary, "disk of db-1 is 97% full");

    const incidents = await program.get("/v1/incidents", KEY);
    const [incident] = (incidents.body as { incidents: { id: string; status: string; ruleName: string }[] })
      .incidents;
    assert.deepEqual([incident.ruleName, incident.status], ["DiskFull", "resolved"]);
    const timeline = await program.get(`/v1/incidents/${incident.id}/timeline`, KEY);
    const entries = (timeline.body as { timeline: { type: string; why: string }[] }).timeline;
    assert.deepEqual(entries.map((e) => e.type), ["IncidentOpened", "IncidentFired", "IncidentResolved"]);
    assert.match(
      entries[1].why,
      new RegExp(`firing since ${startsAt.slice(0, 19)}.* from http://prometheus:9090`),
    );
  });
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const rules = (expr: string) => `
groups:
  - name: lookout
    interval: 1s
    rules:
      - alert: LookoutProbe
        expr: ${expr}
        labels: { severity: page, team: infra }
        annotations: { summary: "probe from Prometheus" }
`;

Deno.test({
  name:
    "alerts in: a real Prometheus with Lookout as its Alertmanager fires and resolves through Lookout's channels",
  ignore: prometheus.skip,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await withReceiver(async (program, hook) => {
    const dir = await Deno.makeTempDir({ prefix: "lookout-prometheus-alerts-" });
    const { hostname, port } = new URL(program.url);
    await Deno.writeTextFile(join(dir, "rules.yml"), rules("vector(1)"));
    await Deno.writeTextFile(
      join(dir, "prometheus.yml"),
      `
global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      authorization: { credentials: ${KEY} }
      static_configs: [{ targets: ["${hostname}:${port}"] }]
`,
    );
    const promPort = freePort();
    const child = new Deno.Command(prometheus.require(), {
      args: [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        // The first send can precede the discovery of Lookout and be dropped; resend every second.
        "--rules.alert.resend-delay=1s",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const notifierMetrics = async () =>
      (await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text()).split("\n")
        .filter((line) => line.startsWith("prometheus_notifications_")).join("\n");
    const pump = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.push(chunk);
    })();
    try {
      await waitFor(() => hook.received.length >= 1 || undefined, 60_000, { what: "Prometheus' alert" })
        .catch(async (error) => {
          throw new Error(`${error.message}\n${log.join("")}\n${await notifierMetrics()}`);
        });
      const [alert] = hook.received[0].body.alerts;
      assert.equal(alert.status, "firing");
      assert.deepEqual(
        [alert.labels.alertname, alert.labels.team, alert.annotations.summary],
        ["LookoutProbe", "infra", "probe from Prometheus"],
      );
      // The rule stops matching: Prometheus reports the alert resolved.
      await Deno.writeTextFile(join(dir, "rules.yml"), rules("vector(1) < 0"));
      child.kill("SIGHUP");
      await waitFor(() => hook.received.length >= 2 || undefined, 60_000, { what: "the resolution" })
        .catch(async (error) => {
          throw new Error(`${error.message}\n${log.join("")}\n${await notifierMetrics()}`);
        });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.deepEqual(statuses(hook), ["firing:LookoutProbe", "resolved:LookoutProbe"]);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await pump;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
});
