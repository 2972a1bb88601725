/**
 * End to end with the real program: a channel and a streaming rule created through the
 * API, breaching samples posted to ingest, and a real HTTP receiver on loopback that
 * must get exactly one firing notification, with the Standard Webhooks signature, then
 * exactly one resolved one; the incident's timeline lists each transition with its
 * cause. Then the program is killed (kill -9) and restarted while a second group is
 * pending: it fires once after the restart, at the time the pending start implies; and
 * killed again while that group fires: nothing is sent again, and its recovery is sent
 * once.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { withProgram } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";
import { ALERTING_TEST_ENV, cpuHighSpec } from "../support/rule-spec.ts";

const KEY = "acme-alert-key-51c0";
const SECRET = "whsec_" + btoa("lookout-test-signing-key");

interface Received {
  readonly headers: Headers;
  readonly text: string;
  readonly body: {
    status: string;
    alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  };
}

function receiver(): { url: string; received: Received[]; close: () => Promise<void> } {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const text = await request.text();
    received.push({ headers: request.headers, text, body: JSON.parse(text) });
    return new Response(null, { status: 204 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, received, close: () => server.shutdown() };
}

function verify(r: Received): void {
  const id = r.headers.get("webhook-id")!;
  const timestamp = r.headers.get("webhook-timestamp")!;
  const key = Uint8Array.from(atob(SECRET.slice(6)), (c) => c.charCodeAt(0));
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${r.text}`).digest("base64");
  assert.equal(r.headers.get("webhook-signature"), `v1,${expected}`);
  assert.match(id, /^msg_[0-9a-f]{32}$/);
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 120, `webhook-timestamp ${timestamp}`);
}

Deno.test({
  name:
    "alerting end to end: one signed firing and one resolved notification, timeline, restart while pending",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const hook = receiver();
  try {
    await withProgram({
      tenants: { acme: KEY },
      env: ALERTING_TEST_ENV,
    }, async (program) => {
      const refused = await program.post("/v1/channels", {
        name: "metadata",
        type: "webhook",
        url: "http://169.254.169.254/latest/meta-data",
      }, { key: KEY });
      assert.equal(refused.status, 400);
      assert.match(JSON.stringify(refused.body), /link-local/);

      const channel = await program.post("/v1/channels", {
        name: "oncall",
        type: "alertmanager-webhook",
        url: hook.url,
        secret: SECRET,
      }, { key: KEY });
      assert.equal(channel.status, 201, JSON.stringify(channel.body));
      const channelId = (channel.body as { id: string }).id;
      assert.equal(JSON.stringify(channel.body).includes(SECRET), false, "the secret is never returned");

      const spec = cpuHighSpec({ for: "10s", window: "30s", noData: undefined, channels: [channelId] });
      const rule = await program.post("/v1/rules", spec, { key: KEY });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));
      // The evaluator loads the rule through metrics.commands; give it a moment to.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      const send = async (host: string, points: [number, number][]) => {
        const reply = await program.post("/v1/samples", {
          metric: "cpu_usage",
          labels: { service: "api", host },
          timestamps: points.map(([ts]) => ts),
          values: points.map(([, v]) => v),
        }, { key: KEY });
        assert.equal(reply.status, 202, JSON.stringify(reply.body));
      };
      const t = Date.now() - 120_000;
      await send("web-1", [[t, 95]]);
      await send("web-1", [[t + 5_000, 96]]);
      await send("web-1", [[t + 15_000, 97]]);
      await waitFor(() => hook.received.length >= 1 || undefined, 20_000, {
        what: "the firing notification",
      });
      const [firing] = hook.received;
      verify(firing);
      assert.equal(firing.body.status, "firing");
      assert.deepEqual(firing.body.alerts.map((a) => [a.status, a.labels.host, a.labels.alertname]), [[
        "firing",
        "web-1",
        "cpu_high",
      ]]);
      assert.equal(firing.body.alerts[0].annotations.summary, "CPU high on web-1");

      await send("web-1", [[t + 20_000, 96]]);
      await send("web-1", [[t + 60_000, 20]]);
      await waitFor(() => hook.received.length >= 2 || undefined, 20_000, {
        what: "the resolved notification",
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(
        hook.received.map((r) => r.body.status),
        ["firing", "resolved"],
        "exactly one of each",
      );
      verify(hook.received[1]);
      assert.notEqual(hook.received[1].headers.get("webhook-id"), firing.headers.get("webhook-id"));

      const incidents = await program.get("/v1/incidents", KEY);
      const [incident] = (incidents.body as { incidents: { id: string; status: string }[] }).incidents;
      assert.equal(incident.status, "resolved");
      const timeline = await program.get(`/v1/incidents/${incident.id}/timeline`, KEY);
      assert.deepEqual(
        (timeline.body as { timeline: { type: string; why: string }[] }).timeline.map((e) => [e.type, e.why]),
        [
          ["IncidentOpened", "avg(cpu_usage) = 96 > 90 (critical)"],
          ["IncidentFired", "avg(cpu_usage) = 96 > 90 (critical)"],
          ["IncidentResolved", "avg(cpu_usage) = 20 no longer breaches"],
        ],
      );

      // Pending at t+5 s (two samples of db-1), then a crash, then the sample at t+16 s.
      await send("db-1", [[t, 95]]);
      await send("db-1", [[t + 5_000, 95]]);
      await program.waitForProjected();
      await program.kill9();
      await program.restart();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await send("db-1", [[t + 16_000, 95]]);
      await waitFor(() => hook.received.length >= 3 || undefined, 30_000, {
        what: "db-1 firing after the restart",
      });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(
        hook.received.map((r) => `${r.body.status}:${r.body.alerts[0].labels.host}`),
        ["firing:web-1", "resolved:web-1", "firing:db-1"],
        "db-1 fired once, from the pending start kept across the crash; nothing was sent twice",
      );

      // A crash while db-1 fires: still breaching after the restart sends nothing; recovery sends one.
      await program.waitForProjected();
      await program.kill9();
      await program.restart();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await send("db-1", [[t + 20_000, 97]]);
      await send("db-1", [[t + 60_000, 10]]);
      await waitFor(() => hook.received.length >= 4 || undefined, 30_000, {
        what: "db-1 resolved after the restart",
      });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(
        hook.received.map((r) => `${r.body.status}:${r.body.alerts[0].labels.host}`),
        ["firing:web-1", "resolved:web-1", "firing:db-1", "resolved:db-1"],
      );
      const ids = hook.received.map((r) => r.headers.get("webhook-id"));
      assert.equal(new Set(ids).size, ids.length, "every notification has its own webhook-id");
    });
  } finally {
    await hook.close();
  }
});
