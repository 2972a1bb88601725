/**
 * Notification grouping (Alertmanager's group_by and timers), the storm digest under a
 * tenant's notification rate, and silence matchers, as given/when/then over the pure
 * functions; time is data.
 */
import assert from "node:assert/strict";
import { planDispatch } from "../../domain/alerting/dispatch-plan.ts";
import { groupDueAt, notifyGroupKey, notifyPolicy } from "../../domain/alerting/notify-policy.ts";
import { type Notice, notificationBody } from "../../domain/alerting/notification.ts";
import { TokenBucket } from "../../domain/limits/token-bucket.ts";
import { ValidationError } from "../../domain/errors.ts";

const streaming = { name: "cpu_high", mode: "streaming" as const };

Deno.test("notify policy: a streaming rule is not held back; a polling one waits Alertmanager's 30 s", () => {
  assert.deepEqual(notifyPolicy(streaming), {
    groupBy: undefined,
    groupWaitMs: 0,
    groupIntervalMs: 0,
    repeatIntervalMs: 4 * 3_600_000,
  });
  assert.equal(notifyPolicy({ ...streaming, mode: "polling" }).groupWaitMs, 30_000);
  const grouped = notifyPolicy({ ...streaming, notify: { groupBy: ["dc"], groupWait: "10s" } });
  assert.deepEqual([grouped.groupWaitMs, grouped.groupIntervalMs], [10_000, 300_000]);
  assert.throws(
    () => notifyPolicy({ ...streaming, notify: { groupInterval: "soon" } }),
    (e) => e instanceof ValidationError && /notify.groupInterval "soon"/.test(e.message),
  );
});

Deno.test("notify group key: groupBy labels only (missing as empty), or every label of the alert", () => {
  const labels = { alertname: "cpu_high", host: "web-1", dc: "a" };
  const byDc = notifyPolicy({ ...streaming, notify: { groupBy: ["dc", "zone"] } });
  assert.equal(notifyGroupKey(byDc, labels), '{"dc":"a","zone":""}');
  assert.equal(notifyGroupKey(byDc, { ...labels, host: "web-2" }), notifyGroupKey(byDc, labels));
  const perAlert = notifyPolicy(streaming);
  assert.notEqual(notifyGroupKey(perAlert, { ...labels, host: "web-2" }), notifyGroupKey(perAlert, labels));
});

Deno.test("group timing: new group after groupWait, later changes after groupInterval, never later than scheduled", () => {
  const policy = notifyPolicy({
    ...streaming,
    notify: { groupBy: [], groupWait: "10s", groupInterval: "1m" },
  });
  const none = { lastFlushAt: undefined, nextFlushAt: undefined };
  // given a new group, when its first alert arrives at 1000, then it is due at 11 000
  assert.equal(groupDueAt(policy, none, 1_000), 11_000);
  // when a second alert joins at 5000, the group keeps its first due time
  assert.equal(groupDueAt(policy, { lastFlushAt: undefined, nextFlushAt: 11_000 }, 5_000), 11_000);
  // given a flush at 11 000, a change at 20 000 waits for the interval, one at 90 000 goes at once
  assert.equal(groupDueAt(policy, { lastFlushAt: 11_000, nextFlushAt: undefined }, 20_000), 71_000);
  assert.equal(groupDueAt(policy, { lastFlushAt: 11_000, nextFlushAt: undefined }, 90_000), 90_000);
  // a repeat scheduled for later is pulled in by a change
  assert.equal(groupDueAt(policy, { lastFlushAt: 11_000, nextFlushAt: 999_000 }, 20_000), 71_000);
  // per-alert groups of a streaming rule: due the moment they change
  assert.equal(groupDueAt(notifyPolicy(streaming), { lastFlushAt: 500, nextFlushAt: undefined }, 600), 600);
});

const group = (i: number, channelId = "c1", tenant = "acme") => ({ tenant, channelId, groupKey: `g${i}` });

Deno.test("dispatch plan: within the rate each group is one notification", () => {
  const bucket = new TokenBucket({ rate: 1, burst: 5 }, 0);
  const plan = planDispatch([group(1), group(2), group(3)], () => bucket, 0);
  assert.deepEqual(plan.send.map((n) => [n.groups.map((g) => g.groupKey), n.digest]), [
    [["g1"], false],
    [["g2"], false],
    [["g3"], false],
  ]);
  assert.deepEqual(plan.postpone, []);
});

Deno.test("dispatch plan: a storm past the rate is one digest per channel, and waits for a token when none is left", () => {
  const buckets = new Map([["acme", new TokenBucket({ rate: 1, burst: 2 }, 0)]]);
  const storm = [
    ...Array.from({ length: 500 }, (_, i) => group(i, "c1")),
    ...Array.from({ length: 500 }, (_, i) => group(i, "c2")),
  ];
  const first = planDispatch(storm, (t) => buckets.get(t)!, 0);
  assert.deepEqual(first.send.map((n) => [n.groups[0].channelId, n.groups.length, n.digest]), [
    ["c1", 500, true],
    ["c2", 500, true],
  ]);
  // when more arrive before a token is back, they wait for it (1 token per second)
  const second = planDispatch([group(1000, "c1"), group(1001, "c1")], (t) => buckets.get(t)!, 100);
  assert.deepEqual(second.send, []);
  assert.deepEqual(second.postpone.map((p) => [p.group.groupKey, p.until]), [["g1000", 1_000], [
    "g1001",
    1_000,
  ]]);
  const third = planDispatch([group(1000, "c1"), group(1001, "c1")], (t) => buckets.get(t)!, 1_000);
  assert.deepEqual(third.send.map((n) => [n.groups.length, n.digest]), [[2, true]]);
});

Deno.test("dispatch plan: one tenant's storm does not spend another tenant's rate", () => {
  const buckets = new Map([
    ["acme", new TokenBucket({ rate: 1, burst: 1 }, 0)],
    ["globex", new TokenBucket({ rate: 1, burst: 1 }, 0)],
  ]);
  const due = [group(1), group(2), group(3), group(4, "c9", "globex")];
  const plan = planDispatch(due, (t) => buckets.get(t)!, 0);
  assert.deepEqual(plan.send.map((n) => [n.groups[0].tenant, n.groups.length, n.digest]), [
    ["acme", 3, true],
    ["globex", 1, false],
  ]);
});

const notice = (host: string, status: "firing" | "resolved" = "firing"): Notice => ({
  status,
  event: status === "firing" ? "IncidentFired" : "IncidentResolved",
  incidentId: `inc-${host}`,
  tenant: "acme",
  ruleId: "r1",
  ruleName: "cpu_high",
  severity: "page",
  level: "critical",
  value: 95,
  groupLabels: { host, dc: "a" },
  ruleLabels: {},
  annotations: { summary: "CPU high on {{host}}" },
  startsAt: Date.parse("2026-12-01T20:00:00Z"),
  at: Date.parse("2026-12-01T20:00:05Z"),
});

Deno.test("grouped Alertmanager webhook body: every alert, group labels, common labels", () => {
  const body = notificationBody("alertmanager-webhook", [notice("web-1"), notice("web-2", "resolved")], {
    externalUrl: "http://lookout",
    receiver: "oncall",
    groupLabels: { dc: "a" },
  }) as Record<string, unknown> & { alerts: { status: string; labels: Record<string, string> }[] };
  assert.equal(body.groupKey, '{}:{dc="a"}');
  assert.equal(body.status, "firing");
  assert.deepEqual(body.groupLabels, { dc: "a" });
  assert.deepEqual(body.commonLabels, { alertname: "cpu_high", severity: "page", dc: "a" });
  assert.deepEqual(body.alerts.map((a) => [a.status, a.labels.host]), [["firing", "web-1"], [
    "resolved",
    "web-2",
  ]]);
});

Deno.test("digest bodies: generic webhook lists each notification; Slack names 20 and counts the rest", () => {
  const notices = Array.from({ length: 25 }, (_, i) => notice(`web-${i}`));
  const context = { externalUrl: "http://lookout", receiver: "oncall", digest: true };
  const webhook = notificationBody("webhook", notices, context) as Record<string, unknown> & {
    notifications: unknown[];
  };
  assert.deepEqual([webhook.type, webhook.firing, webhook.notifications.length], ["incident.digest", 25, 25]);
  const slack = notificationBody("slack", notices, context) as { text: string };
  const lines = slack.text.split("\n");
  assert.equal(lines[0], "[FIRING] digest: 25 firing, 0 resolved");
  assert.equal(lines.length, 22);
  assert.equal(lines.at(-1), "… and 5 more");
});
