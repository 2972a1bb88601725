/**
 * The notification outbox on a real PGlite database, with a clock the test moves:
 * incident events staged into notification groups in the projection's transaction, the
 * dispatcher flushing due groups into outbox rows (grouped, with groupWait, groupInterval
 * and repeatInterval), leaving out silenced alerts, and folding a storm into a digest;
 * the delivery worker sending what a round queued without reading it back.
 */
import assert from "node:assert/strict";
import { DeliveryWorker } from "../../adapters/notifier/delivery-worker.ts";
import { Dispatcher } from "../../adapters/notifier/dispatcher.ts";
import { queueNotifications } from "../../adapters/notifier/outbox.ts";
import { openPglite, type SqlClient } from "../../adapters/postgres/sql-client.ts";
import type { IncidentEvent } from "../../domain/alerting/incident.ts";
import type { RuleSpec } from "../../domain/alerting/rule.ts";
import { CHANNELS_DDL, deleteChannel, putChannel } from "../../read-models/channels-table.ts";
import { DELIVERIES_DDL, listDeliveries } from "../../read-models/deliveries-table.ts";
import { applyIncidentEvent, INCIDENTS_DDL } from "../../read-models/incidents-table.ts";
import { NOTIFY_GROUPS_DDL } from "../../read-models/notify-groups-table.ts";
import { applyRuleEvent, RULES_DDL } from "../../read-models/rules-table.ts";
import { applySilenceEvent, SILENCES_DDL } from "../../read-models/silences-table.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

const T0 = Date.parse("2026-12-01T12:00:00Z");

interface Outbox {
  readonly sql: SqlClient;
  readonly clock: { now: number };
  readonly dispatcher: Dispatcher;
  fire(host: string, dc?: string): Promise<void>;
  resolve(host: string): Promise<void>;
  sent(): Promise<{ event: string; hosts: string[]; body: Record<string, unknown> }[]>;
}

async function openOutbox(spec: Partial<RuleSpec>, rate = { perMinute: 600, burst: 100 }): Promise<Outbox> {
  const sql = await openPglite();
  await sql.exec(
    RULES_DDL + INCIDENTS_DDL + CHANNELS_DDL + DELIVERIES_DDL + NOTIFY_GROUPS_DDL + SILENCES_DDL,
  );
  const db = sql.drizzle;
  const clock = { now: T0 };
  await putChannel(db, {
    tenant: "acme",
    id: "c1",
    name: "oncall",
    type: "alertmanager-webhook",
    url: "http://127.0.0.1:1/hook",
    secret: "",
    version: 1,
    updatedAt: T0,
  });
  const meta = () => ({ who: "test", why: "test", at: clock.now });
  await applyRuleEvent(db, {
    type: "RuleCreated",
    data: { ruleId: "r1", tenant: "acme", spec: cpuHighSpec({ channels: ["c1"], ...spec }) },
    metadata: meta(),
  }, 0);
  let seq = 0;
  const revisions = new Map<string, number>();
  const project = async (event: IncidentEvent) => {
    const id = event.data.incidentId;
    const revision = revisions.get(id) ?? 0;
    revisions.set(id, revision + 1);
    const stored = {
      id: `e${++seq}`,
      type: event.type,
      data: { ...event.data },
      metadata: { ...event.metadata },
      streamId: `incident-${id}`,
      revision,
      position: BigInt(seq),
      recordedAt: clock.now,
    };
    await db.transaction(async (tx) => {
      await applyIncidentEvent(tx, event, revision);
      await queueNotifications(tx, stored, event, { now: () => clock.now });
    });
  };
  const dispatcher = new Dispatcher({ db, now: () => clock.now, externalUrl: "http://lookout", rate });
  return {
    sql,
    clock,
    dispatcher,
    async fire(host, dc = "a") {
      const incidentId = `inc-${host}`;
      if (!revisions.has(incidentId)) {
        await project({
          type: "IncidentOpened",
          data: {
            incidentId,
            tenant: "acme",
            ruleId: "r1",
            ruleName: "cpu_high",
            severity: "page",
            labels: { host, dc },
          },
          metadata: meta(),
        });
      }
      await project({
        type: "IncidentFired",
        data: { incidentId, level: "critical", value: 95 },
        metadata: meta(),
      });
    },
    resolve: (host) =>
      project({ type: "IncidentResolved", data: { incidentId: `inc-${host}`, value: 10 }, metadata: meta() }),
    async sent() {
      return (await listDeliveries(db, "acme")).map((d) => {
        const body = d.body as { alerts: { status: string; labels: Record<string, string> }[] };
        return { event: d.event, hosts: body.alerts.map((a) => `${a.status}:${a.labels.host}`), body };
      });
    },
  };
}

Deno.test("outbox: a streaming rule's alert is flushed the moment it fires, its recovery the moment it clears", async () => {
  const o = await openOutbox({});
  try {
    await o.fire("web-1");
    assert.equal((await o.dispatcher.dispatch()).length, 1);
    o.clock.now += 5_000;
    await o.resolve("web-1");
    assert.equal((await o.dispatcher.dispatch()).length, 1);
    assert.deepEqual((await o.sent()).map((s) => [s.event, s.hosts]), [
      ["IncidentFired", ["firing:web-1"]],
      ["IncidentResolved", ["resolved:web-1"]],
    ]);
    assert.equal((await o.dispatcher.dispatch()).length, 0, "nothing is left to say");
  } finally {
    await o.sql.close();
  }
});

Deno.test("outbox: groupBy dc with groupWait 30s and groupInterval 1m → one notification per dc, then changes per interval", async () => {
  const o = await openOutbox({ notify: { groupBy: ["dc"], groupWait: "30s", groupInterval: "1m" } });
  try {
    for (let i = 0; i < 40; i++) await o.fire(`h${i}`, i % 2 === 0 ? "a" : "b");
    assert.equal((await o.dispatcher.dispatch()).length, 0, "held for groupWait");
    o.clock.now += 30_000;
    assert.equal((await o.dispatcher.dispatch()).length, 2);
    const [a, b] = (await o.sent()).sort((x, y) =>
      String(x.body.groupKey).localeCompare(String(y.body.groupKey))
    );
    assert.deepEqual([a.body.groupKey, a.hosts.length, b.body.groupKey, b.hosts.length], [
      '{}:{dc="a"}',
      20,
      '{}:{dc="b"}',
      20,
    ]);
    // A recovery 10 s later waits for the group interval, and carries the group's firing alerts too.
    o.clock.now += 10_000;
    await o.resolve("h0");
    assert.equal((await o.dispatcher.dispatch()).length, 0);
    o.clock.now += 50_000;
    assert.equal((await o.dispatcher.dispatch()).length, 1);
    const third = (await o.sent())[2];
    assert.equal(third.hosts.length, 20);
    assert.ok(third.hosts.includes("resolved:h0"));
    assert.equal(third.hosts.filter((h) => h.startsWith("firing:")).length, 19);
  } finally {
    await o.sql.close();
  }
});

Deno.test("outbox: a group still firing is notified again after repeatInterval, with a new webhook-id", async () => {
  const o = await openOutbox({ notify: { repeatInterval: "1h" } });
  try {
    await o.fire("web-1");
    await o.dispatcher.dispatch();
    o.clock.now += 3_599_000;
    assert.equal((await o.dispatcher.dispatch()).length, 0);
    o.clock.now += 1_000;
    assert.equal((await o.dispatcher.dispatch()).length, 1);
    const sent = await listDeliveries(o.sql.drizzle, "acme");
    assert.deepEqual(sent.map((d) => d.event), ["IncidentFired", "NotificationGroup"]);
    assert.notEqual(sent[0].id, sent[1].id);
  } finally {
    await o.sql.close();
  }
});

Deno.test("outbox: a silenced alert is not notified, nor its recovery; others in the storm are", async () => {
  const o = await openOutbox({});
  try {
    await applySilenceEvent(o.sql.drizzle, {
      type: "SilenceCreated",
      data: {
        silenceId: "s1",
        tenant: "acme",
        matchers: [{ name: "host", value: "web-1", isRegex: false, isEqual: true }],
        startsAt: T0,
        endsAt: T0 + 3_600_000,
        createdBy: "ana",
        comment: "rebuild",
      },
      metadata: { who: "acme/ana", why: "rebuild", at: T0 },
    });
    await o.fire("web-1");
    await o.fire("web-2");
    await o.dispatcher.dispatch();
    o.clock.now += 1_000;
    await o.resolve("web-1");
    await o.dispatcher.dispatch();
    assert.deepEqual((await o.sent()).map((s) => s.hosts), [["firing:web-2"]]);
  } finally {
    await o.sql.close();
  }
});

Deno.test("outbox: past the tenant's rate, due groups become one digest per channel and none is lost", async () => {
  const o = await openOutbox({}, { perMinute: 60, burst: 3 });
  try {
    for (let i = 0; i < 3; i++) await o.fire(`h${i}`);
    assert.equal((await o.dispatcher.dispatch()).length, 3);
    for (let i = 3; i < 200; i++) await o.fire(`h${i}`);
    assert.equal((await o.dispatcher.dispatch()).length, 0, "no token: the storm waits");
    o.clock.now += 1_000;
    assert.equal((await o.dispatcher.dispatch()).length, 1);
    const sent = await o.sent();
    assert.deepEqual(sent.map((s) => [s.event, s.hosts.length]), [
      ["IncidentFired", 1],
      ["IncidentFired", 1],
      ["IncidentFired", 1],
      ["NotificationDigest", 197],
    ]);
    assert.equal(new Set(sent.flatMap((s) => s.hosts)).size, 200);
  } finally {
    await o.sql.close();
  }
});

Deno.test("delivery worker: the rows a dispatch round queues are sent in that round, once, with the channel it read", async () => {
  const o = await openOutbox({});
  const db = o.sql.drizzle;
  const sent: { id: string; url: string }[] = [];
  let rounds = 0;
  let handed: string[] = [];
  let worker: DeliveryWorker | undefined;
  const done = Promise.withResolvers<void>();
  try {
    await o.fire("web-1");
    worker = new DeliveryWorker({
      db,
      now: () => o.clock.now,
      // A round that read the rows back would only come after this poll.
      pollMs: 60_000,
      sender: {
        send(channel, message) {
          sent.push({ id: message.id, url: channel.url });
          return Promise.resolve({ kind: "delivered", status: 200 });
        },
      },
      onOutcome: () => done.resolve(),
      dispatcher: {
        async dispatch() {
          rounds++;
          const queued = await o.dispatcher.dispatch();
          handed = [...handed, ...queued.map((q) => q.row.id)];
          // A row read back now would find its channel gone and be dead, not delivered.
          if (queued.length > 0) await deleteChannel(db, "acme", "c1");
          return queued;
        },
        nextDueAt: () => o.dispatcher.nextDueAt(),
      },
    });
    void worker.start();
    await done.promise;
    await worker.stop();
    assert.equal(handed.length, 1);
    assert.deepEqual(sent, [{ id: handed[0], url: "http://127.0.0.1:1/hook" }]);
    const [row] = await listDeliveries(db, "acme");
    assert.equal(row.status, "delivered");
    assert.equal(row.attempts, 1);
    assert.ok(rounds <= 2, `${rounds} rounds`);
  } finally {
    await worker?.stop();
    await o.sql.close();
  }
});
