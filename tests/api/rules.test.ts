/**
 * The rule API through `app.request()` over a real log, event store and rules table:
 * on PGlite always, and on a real Postgres when one is configured.
 */
import assert from "node:assert/strict";
import type { SqlClient } from "../../adapters/postgres/sql-client.ts";
import { ReadModelProjector } from "../../adapters/read-model-projector.ts";
import { listRules } from "../../read-models/rules-table.ts";
import { freshSchema, scratchPglite, testPostgresUrl } from "../support/postgres.ts";
import { ACME, GLOBEX, openRulesApp, type RulesApp } from "../support/rules-app.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

type Database = () => Promise<{ sql: SqlClient; drop: () => Promise<void> }>;

const json = (headers: Record<string, string>, body: unknown, extra: Record<string, string> = {}) => ({
  headers: { ...headers, "content-type": "application/json", ...extra },
  body: JSON.stringify(body),
});

async function create(app: RulesApp, spec = cpuHighSpec(), headers = ACME): Promise<string> {
  const response = await app.request("/v1/rules", { method: "POST", ...json(headers, spec) });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()).id;
}

function rulesSuite(name: string, database: Database): void {
  const rulesCase = (title: string, body: (app: RulesApp) => Promise<void>) =>
    Deno.test({
      name: `rules API on ${name}: ${title}`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const { sql, drop } = await database();
        const app = await openRulesApp(sql);
        try {
          await body(app);
        } finally {
          await app.close().catch(() => {});
          await drop();
        }
      },
    });

  rulesCase(
    "create is a command on the log and an event with who and why; the table shows it",
    async (app) => {
      const response = await app.request("/v1/rules", {
        method: "POST",
        ...json(ACME, cpuHighSpec(), { "x-lookout-actor": "alice", "x-lookout-reason": "page on CPU" }),
      });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get("etag"), '"1"');
      const created = await response.json();
      assert.equal(response.headers.get("location"), `/v1/rules/${created.id}`);
      assert.deepEqual([created.version, created.name, created.updatedBy, created.condition.critical], [
        1,
        "cpu_high",
        "acme/alice",
        90,
      ]);

      const [record] = await app.log.read("metrics.commands", 0, 0, 10);
      const command = JSON.parse(new TextDecoder().decode(record.value));
      assert.deepEqual([
        record.key,
        command.type,
        command.data.spec.metric,
        command.metadata.who,
        command.metadata.why,
      ], [
        created.id,
        "CreateRule",
        "cpu_usage",
        "acme/alice",
        "page on CPU",
      ]);
      const [event] = await app.alerting.store.readStream(`rule-${created.id}`);
      assert.deepEqual([event.type, event.metadata.who, event.metadata.why, event.metadata.commandId], [
        "RuleCreated",
        "acme/alice",
        "page on CPU",
        command.metadata.commandId,
      ]);

      const read = await app.request(`/v1/rules/${created.id}`, { headers: ACME });
      assert.equal(read.headers.get("etag"), '"1"');
      assert.deepEqual(await read.json(), created);
      const list = await (await app.request("/v1/rules", { headers: ACME })).json();
      assert.deepEqual(list.rules.map((r: { id: string }) => r.id), [created.id]);
    },
  );

  rulesCase("update at the current version; a stale If-Match gets 409 and changes nothing", async (app) => {
    const id = await create(app);
    const faster = cpuHighSpec({ for: "10s" });
    const updated = await app.request(`/v1/rules/${id}`, {
      method: "PUT",
      ...json(ACME, faster, { "if-match": '"1"' }),
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.headers.get("etag"), '"2"');
    const stale = await app.request(`/v1/rules/${id}`, {
      method: "PUT",
      ...json(ACME, cpuHighSpec({ for: "5m" }), { "if-match": '"1"' }),
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.headers.get("content-type"), "application/problem+json");
    assert.match((await stale.json()).detail, /at version 2, not 1/);
    const read = await (await app.request(`/v1/rules/${id}`, { headers: ACME })).json();
    assert.deepEqual([read.version, read.for], [2, "10s"]);
  });

  rulesCase("two concurrent edits at one version: one wins, the other gets 409", async (app) => {
    const id = await create(app);
    const edits = await Promise.all(
      ["1m", "2m", "3m"].map((window) =>
        app.request(`/v1/rules/${id}`, {
          method: "PUT",
          ...json(ACME, cpuHighSpec({ window }), { "if-match": '"1"' }),
        })
      ),
    );
    assert.deepEqual(edits.map((r) => r.status).sort(), [200, 409, 409]);
    const history = await (await app.request(`/v1/rules/${id}/history`, { headers: ACME })).json();
    assert.equal(history.history.length, 2);
  });

  rulesCase("bad rules get 400 with the field and the reason, and leave no trace", async (app) => {
    const cases: [unknown, RegExp][] = [
      [{ ...cpuHighSpec(), condition: { op: ">", critical: "90" } }, /condition\.critical/],
      [{ ...cpuHighSpec(), surprise: true }, /surprise|unrecognized/i],
      [{ ...cpuHighSpec(), metric: "cpu usage" }, /metric: must be a metric name/],
      [{ ...cpuHighSpec(), by: ["host", "1bad"] }, /by\.1: must be a label name/],
      [cpuHighSpec({ window: "a minute" }), /window "a minute" is not a duration/],
      [
        cpuHighSpec({ condition: { op: ">", critical: 90, criticalRecovery: 95 } }),
        /criticalRecovery 95 must not be above critical 90/,
      ],
    ];
    for (const [body, reason] of cases) {
      const response = await app.request("/v1/rules", { method: "POST", ...json(ACME, body) });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match((await response.json()).detail, reason);
    }
    const notJson = await app.request("/v1/rules", { method: "POST", headers: ACME, body: "{" });
    assert.equal(notJson.status, 400);
    const badMatch = await app.request("/v1/rules/x", {
      method: "PUT",
      ...json(ACME, cpuHighSpec(), { "if-match": "abc" }),
    });
    assert.equal(badMatch.status, 400);
    assert.deepEqual(await app.log.read("metrics.commands", 0, 0, 10), []);
    assert.deepEqual((await (await app.request("/v1/rules", { headers: ACME })).json()).rules, []);
  });

  rulesCase("delete; history lists every version with who, why and the rule as it was", async (app) => {
    const id = await create(app);
    await app.request(`/v1/rules/${id}`, {
      method: "PUT",
      ...json(ACME, cpuHighSpec({ severity: "ticket" }), { "x-lookout-reason": "too noisy" }),
    });
    const deleted = await app.request(`/v1/rules/${id}`, {
      method: "DELETE",
      headers: {
        ...ACME,
        "if-match": '"2"',
        "x-lookout-actor": "bob",
        "x-lookout-reason": "service retired",
      },
    });
    assert.equal(deleted.status, 204);
    assert.equal((await app.request(`/v1/rules/${id}`, { headers: ACME })).status, 404);
    assert.equal((await app.request(`/v1/rules/${id}`, { method: "DELETE", headers: ACME })).status, 404);
    const { history } = await (await app.request(`/v1/rules/${id}/history`, { headers: ACME })).json();
    assert.deepEqual(history.map((h: Record<string, unknown>) => [h.version, h.type, h.who, h.why]), [
      [1, "RuleCreated", "acme", ""],
      [2, "RuleUpdated", "acme", "too noisy"],
      [3, "RuleDeleted", "acme/bob", "service retired"],
    ]);
    assert.equal(history[1].spec.severity, "ticket");
  });

  rulesCase("asOf gives the rule set as it was at any instant", async (app) => {
    const t0 = app.clock.now;
    const a = await create(app, cpuHighSpec({ name: "a" }));
    app.clock.now = t0 + 60_000;
    const b = await create(app, cpuHighSpec({ name: "b" }));
    app.clock.now = t0 + 120_000;
    await app.request(`/v1/rules/${a}`, {
      method: "PUT",
      ...json(ACME, cpuHighSpec({ name: "a", for: "1m" })),
    });
    app.clock.now = t0 + 180_000;
    await app.request(`/v1/rules/${b}`, { method: "DELETE", headers: ACME });
    const asOf = async (at: number | string) => {
      const response = await app.request(`/v1/rules?asOf=${at}`, { headers: ACME });
      assert.equal(response.status, 200);
      return (await response.json()).rules.map((r: { name: string; version: number }) =>
        `${r.name}@${r.version}`
      ).sort();
    };
    assert.deepEqual(await asOf(t0 - 1), []);
    assert.deepEqual(await asOf(t0), ["a@1"]);
    assert.deepEqual(await asOf(new Date(t0 + 90_000).toISOString()), ["a@1", "b@1"]);
    assert.deepEqual(await asOf(t0 + 120_000), ["a@2", "b@1"]);
    assert.deepEqual(await asOf(t0 + 180_000), ["a@2"]);
    const bad = await app.request("/v1/rules?asOf=yesterday", { headers: ACME });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).detail, /asOf: must be an RFC 3339 time/);
  });

  rulesCase("another tenant's rule does not exist for it, by any route", async (app) => {
    const id = await create(app);
    assert.equal((await app.request(`/v1/rules/${id}`, { headers: GLOBEX })).status, 404);
    assert.equal((await app.request(`/v1/rules/${id}/history`, { headers: GLOBEX })).status, 404);
    const put = await app.request(`/v1/rules/${id}`, { method: "PUT", ...json(GLOBEX, cpuHighSpec()) });
    assert.equal(put.status, 404);
    assert.equal((await app.request(`/v1/rules/${id}`, { method: "DELETE", headers: GLOBEX })).status, 404);
    assert.deepEqual((await (await app.request("/v1/rules", { headers: GLOBEX })).json()).rules, []);
    assert.deepEqual(
      (await (await app.request(`/v1/rules?asOf=${app.clock.now}`, { headers: GLOBEX })).json()).rules,
      [],
    );
    assert.equal((await app.request("/v1/rules", { headers: {} })).status, 401);
    assert.equal((await (await app.request(`/v1/rules/${id}`, { headers: ACME })).json()).version, 1);
  });

  rulesCase("the rules table is rebuilt from the event store alone", async (app) => {
    const ids = [
      await create(app, cpuHighSpec({ name: "x" })),
      await create(app, cpuHighSpec({ name: "y" })),
    ];
    await app.request(`/v1/rules/${ids[0]}`, {
      method: "PUT",
      ...json(ACME, cpuHighSpec({ name: "x", window: "5m" })),
    });
    await app.request(`/v1/rules/${ids[1]}`, { method: "DELETE", headers: ACME });
    const before = await listRules(app.alerting.sql.drizzle, "acme");

    // Drop the table's contents, then replay the event store into it from the start.
    await app.alerting.sql.exec("truncate rules, rule_versions");
    assert.deepEqual(await listRules(app.alerting.sql.drizzle, "acme"), []);
    const rebuild = new ReadModelProjector(app.alerting.store, app.alerting.sql.drizzle, { name: "rebuild" });
    void rebuild.start();
    assert.ok(await rebuild.projected(app.alerting.projector.position), "the rebuild caught up");
    await rebuild.stop();
    const after = await listRules(app.alerting.sql.drizzle, "acme");
    assert.deepEqual(after, before);
    assert.deepEqual(after.map((r) => [r.spec.name, r.version, r.spec.window]), [["x", 2, "5m"]]);
  });
}

// PGlite takes seconds to start, so the cases share one, each with its own tables.
let pglite: Promise<SqlClient> | undefined;
rulesSuite("PGlite", async () => {
  pglite ??= scratchPglite();
  const sql = await pglite;
  const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await sql.exec(`create schema ${schema}; set search_path to ${schema}`);
  return {
    sql: { ...sql, close: () => Promise.resolve() },
    drop: () => sql.exec(`drop schema ${schema} cascade`),
  };
});

const postgresUrl = testPostgresUrl();
if (postgresUrl !== undefined) {
  const url = postgresUrl;
  rulesSuite("Postgres", async () => {
    const { sql, drop } = await freshSchema(url);
    return { sql: { ...sql, close: () => Promise.resolve() }, drop };
  });
}
