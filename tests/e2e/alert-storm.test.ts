/**
 * End to end with the real program and real HTTP receivers on loopback: 1,000 series
 * breach in one request.
 * - A rule grouping by `dc` (two data centres, `groupWait`) gives exactly one
 *   notification per group, each with its 500 alerts: two, not 1,000.
 * - A rule without grouping (300 series), under a tenant notification rate with a burst
 *   of 5, gives at most 5 single notifications and then digests, one per second at most,
 *   that together carry every alert exactly once.
 * - A silence (`=~` on host) keeps its alerts quiet while their transitions are still
 *   recorded on the timeline, marked with the silence; its creation and expiry are
 *   events with who and why.
 */
import assert from "node:assert/strict";
import { type Program, withProgram } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";
import { ALERTING_TEST_ENV, cpuHighSpec, oncallChannel } from "../support/rule-spec.ts";
import { type ReceivedRequest, type WebhookReceiver, webhookReceiver } from "../support/webhook-receiver.ts";

const KEYS = {
  acme: "acme-storm-key-3f1a",
  globex: "globex-storm-key-77c2",
  initech: "initech-silence-key-9d",
};
const SERIES = 1_000;
const UNGROUPED = 300;
const GROUP_WAIT = "3m";

interface Alert {
  status: string;
  labels: Record<string, string>;
}
interface AlertsBody {
  status: string;
  groupLabels: Record<string, string>;
  alerts: Alert[];
}
type Received = ReceivedRequest<AlertsBody>;

async function rule(program: Program, key: string, spec: object): Promise<void> {
  const reply = await program.post("/v1/rules", spec, { key });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
}

/** One NDJSON request with one breaching sample for each of `SERIES` hosts in two data centres. */
async function storm(program: Program, key: string, series: number, at: number): Promise<void> {
  const lines = Array.from({ length: series }, (_, i) =>
    JSON.stringify({
      metric: "cpu_usage",
      labels: { service: "api", host: `h${String(i).padStart(4, "0")}`, dc: i % 2 === 0 ? "a" : "b" },
      timestamps: [at],
      values: [97],
    }));
  const reply = await program.post("/v1/samples", lines.join("\n"), {
    key,
    contentType: "application/x-ndjson",
  });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
}

async function firingIncidents(program: Program, key: string): Promise<number> {
  const reply = await program.get("/v1/incidents?status=firing&limit=10000", key);
  return (reply.body as { incidents: unknown[] }).incidents.length;
}

/** Another tenant's ingest while the storm's incidents are recorded: answered within the usual timeout. */
async function ingestMeanwhile(program: Program): Promise<number> {
  const started = Date.now();
  const reply = await program.post("/v1/samples", {
    metric: "storm_probe",
    labels: { host: "elsewhere" },
    timestamps: [Date.now()],
    values: [1],
  }, { key: KEYS.initech });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  return Date.now() - started;
}

const hostsOf = (received: readonly Received[]) =>
  received.flatMap((r) => r.body.alerts.map((a) => a.labels.host));

Deno.test({
  name: "alert storm: 1,000 series breach at once → one notification per group, a digest past the rate",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const grouped = webhookReceiver<AlertsBody>();
  const digest = webhookReceiver<AlertsBody>();
  const silenced = webhookReceiver<AlertsBody>();
  try {
    await withProgram({
      tenants: KEYS,
      readyTimeoutMs: 180_000,
      env: { ...ALERTING_TEST_ENV, LOOKOUT_NOTIFY_BURST: "5", LOOKOUT_NOTIFY_RATE_PER_MINUTE: "60" },
    }, async (program) => {
      // The alert's labels carry dc only when the rule keeps it (by), as in Prometheus.
      const base = { for: "0s", window: "1m", noData: undefined, by: ["host", "dc"] };
      await rule(program, KEYS.acme, {
        ...cpuHighSpec({ ...base, channels: [await oncallChannel(program, KEYS.acme, grouped.url)] }),
        // Long enough for the program to record all thousand incidents on a loaded machine.
        notify: { groupBy: ["dc"], groupWait: GROUP_WAIT },
      });
      await rule(
        program,
        KEYS.globex,
        cpuHighSpec({ ...base, channels: [await oncallChannel(program, KEYS.globex, digest.url)] }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      const t = Date.now() - 60_000;
      const started = Date.now();
      await storm(program, KEYS.acme, SERIES, t);
      const meanwhileMs = await ingestMeanwhile(program);
      await waitFor(() => grouped.received.length >= 2 || undefined, 600_000, {
        what: "the grouped notifications",
        intervalMs: 500,
      });
      assert.equal(await firingIncidents(program, KEYS.acme), SERIES);
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      // One notification per data centre, each carrying its 500 alerts.
      assert.equal(grouped.received.length, 2, "one notification per group, not one per series");
      const byDc = grouped.received.map((r) => [r.body.groupLabels.dc, r.body.alerts.length, r.body.status]);
      assert.deepEqual(byDc.sort(), [["a", SERIES / 2, "firing"], ["b", SERIES / 2, "firing"]]);
      for (const r of grouped.received) {
        assert.ok(r.body.alerts.every((a) => a.labels.dc === r.body.groupLabels.dc));
      }
      assert.equal(new Set(hostsOf(grouped.received)).size, SERIES);
      const groupedAfter = grouped.received[0].at - started;

      // Without grouping: at most the burst of singles, then digests at most one a second.
      await storm(program, KEYS.globex, UNGROUPED, t);
      await waitFor(() => new Set(hostsOf(digest.received)).size === UNGROUPED || undefined, 600_000, {
        what: "every alert of globex in some notification",
        intervalMs: 500,
      });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const hosts = hostsOf(digest.received);
      assert.equal(hosts.length, UNGROUPED, "every alert exactly once");
      const singles = digest.received.filter((r) => r.body.alerts.length === 1).length;
      const span = (digest.received.at(-1)!.at - digest.received[0].at) / 1000;
      console.log(
        `storm: ${SERIES} series grouped by dc → ${grouped.received.length} notifications, the first ` +
          `${groupedAfter} ms after the samples; another tenant's ingest meanwhile answered in ${meanwhileMs} ms; ` +
          `${UNGROUPED} ungrouped → ${digest.received.length} ` +
          `notifications (${singles} single) over ${span.toFixed(1)} s`,
      );
      assert.ok(singles <= 5, `${singles} single notifications, past the burst of 5`);
      assert.ok(digest.received.length <= 5 + Math.ceil(span) + 1, `${digest.received.length} notifications`);
      assert.ok(digest.received.length < UNGROUPED / 10, "a digest, not a flood");

      await silences(program, silenced);
    });
  } finally {
    await grouped.close();
    await digest.close();
    await silenced.close();
  }
});

async function silences(program: Program, hook: WebhookReceiver<AlertsBody>): Promise<void> {
  const key = KEYS.initech;
  await rule(
    program,
    key,
    cpuHighSpec({
      for: "0s",
      window: "1m",
      noData: undefined,
      channels: [await oncallChannel(program, key, hook.url)],
    }),
  );
  const now = Date.now();
  const silence = await program.post("/v1/silences", {
    matchers: [{ name: "host", value: "web-1.*", isRegex: true, isEqual: true }],
    startsAt: new Date(now - 600_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
    createdBy: "ana",
    comment: "web-1 is being rebuilt",
  }, { key });
  assert.equal(silence.status, 201, JSON.stringify(silence.body));
  const silenceId = (silence.body as { silenceID: string }).silenceID;
  const bad = await program.post("/v1/silences", {
    matchers: [{ name: "host", value: ".*", isRegex: true }],
    endsAt: new Date(now + 60_000).toISOString(),
    createdBy: "ana",
    comment: "everything",
  }, { key });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /match every alert/);
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const send = async (host: string, at: number, value: number) => {
    const reply = await program.post("/v1/samples", {
      metric: "cpu_usage",
      labels: { service: "api", host },
      timestamps: [at],
      values: [value],
    }, { key });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
  };
  const t = now - 300_000;
  await send("web-1", t, 99);
  await send("web-2", t, 99);
  await waitFor(() => hook.received.length >= 1 || undefined, 30_000, { what: "web-2 firing" });
  await waitFor(async () => (await firingIncidents(program, key)) === 2 || undefined, 30_000, {
    what: "both incidents recorded",
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.deepEqual(
    hook.received.map((r) => r.body.alerts.map((a) => a.labels.host)),
    [["web-2"]],
    "web-1 is silenced",
  );

  const listed = await program.get("/v1/incidents?status=firing", key);
  const web1 = (listed.body as { incidents: { id: string; labels: Record<string, string> }[] }).incidents
    .find((i) => i.labels.host === "web-1")!;
  const timeline = await program.get(`/v1/incidents/${web1.id}/timeline`, key);
  const entries = (timeline.body as { timeline: { type: string; silencedBy: string[] }[] }).timeline;
  assert.deepEqual(entries.map((e) => [e.type, e.silencedBy]), [
    ["IncidentOpened", [silenceId]],
    ["IncidentFired", [silenceId]],
  ]);

  const active = await program.get("/v1/silences?status=active", key);
  assert.deepEqual(
    (active.body as { silences: { id: string; createdBy: string }[] }).silences.map((
      s,
    ) => [s.id, s.createdBy]),
    [[silenceId, "ana"]],
  );
  const other = await program.get(`/v1/silences/${silenceId}`, KEYS.acme);
  assert.equal(other.status, 404, "another tenant's silence does not exist");

  const expired = await fetch(`${program.url}/v1/silences/${silenceId}`, {
    method: "DELETE",
    headers: { "dd-api-key": key, "x-lookout-actor": "ben", "x-lookout-reason": "rebuild done" },
  });
  assert.equal(expired.status, 204);
  const history = await program.get(`/v1/silences/${silenceId}/history`, key);
  assert.deepEqual(
    (history.body as { history: { type: string; who: string; why: string }[] }).history.map((
      e,
    ) => [e.type, e.who, e.why]),
    [["SilenceCreated", "initech/ana", "web-1 is being rebuilt"], [
      "SilenceExpired",
      "initech/ben",
      "rebuild done",
    ]],
  );

  // After the silence: web-1's recovery was never announced as firing, so it stays quiet;
  // its next breach is notified.
  await send("web-1", t + 60_000, 10);
  await send("web-1", t + 120_000, 99);
  await waitFor(() => hook.received.length >= 2 || undefined, 30_000, {
    what: "web-1 firing after the silence",
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.deepEqual(
    hook.received.map((r) => r.body.alerts.map((a) => `${a.status}:${a.labels.host}`)),
    [["firing:web-2"], ["firing:web-1"]],
  );
}
