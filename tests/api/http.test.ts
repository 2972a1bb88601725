/**
 * API tests through `app.request()`: the real Hono app over a real SQLite log and the
 * in-process ClickHouse engine, with the projections running.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ACME, GLOBEX, query, setup, total } from "../support/api-app.ts";
import { TOPIC } from "../support/pipeline.ts";

const DAY = 86_400_000;

Deno.test("api: keys name the tenant; no key, a wrong key or a tenant header alone get 401", async () => {
  const { app, pipeline, acme } = await setup();
  try {
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ series: [{ metric: "up", points: [{ timestamp: now, value: 1 }] }] });
    assert.equal((await app.request("/api/v2/series", { method: "POST", body })).status, 401);
    const wrong = await app.request("/api/v2/series", {
      method: "POST",
      body,
      headers: { "DD-API-KEY": "nope-nope-nope" },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("content-type"), "application/problem+json");
    const headerOnly = await app.request("/v1/query", {
      method: "POST",
      body: query("up"),
      headers: { "X-Tenant": acme },
    });
    assert.equal(headerOnly.status, 401);
    // tenant A's key with a header naming tenant B: the data is A's
    const res = await app.request("/api/v2/series", {
      method: "POST",
      body,
      headers: { ...ACME, "X-Tenant": "globex" },
    });
    assert.equal(res.status, 202);
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "up"), 1);
    assert.equal(await total(app, GLOBEX, "up"), 0);
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: Datadog v2 keeps valid series, rejects bad ones with reasons, maps names and tags", async () => {
  const { app, pipeline, telemetry, acme } = await setup();
  try {
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      series: [
        {
          metric: "system.load.1",
          type: 3,
          points: [{ timestamp: now - 60, value: 1.5 }, { timestamp: now, value: 2.5 }],
          tags: ["host:web-1", "env:prod"],
        },
        { metric: "dup.tags", points: [{ timestamp: now, value: 1 }], tags: ["env:a", "env:b"] },
        { metric: "too.old", points: [{ timestamp: now - 8 * 86400, value: 1 }] },
        { metric: "too.new", points: [{ timestamp: now + 3600, value: 1 }] },
      ],
    });
    const res = await app.request("/api/v2/series", {
      method: "POST",
      body: gzipSync(body),
      headers: { ...ACME, "content-encoding": "gzip" },
    });
    assert.equal(res.status, 202);
    const reply = await res.json();
    assert.equal(reply.errors.length, 3);
    assert.match(reply.errors[0], /env.*twice/);
    assert.match(reply.errors[1], /older than the raw retention/);
    assert.match(reply.errors[2], /in the future/);
    await pipeline.caughtUp();
    const series = await (await app.request("/v1/series?metric=system_load_1", { headers: ACME })).json();
    assert.deepEqual(series.series.map((s: { labels: unknown }) => s.labels), [{
      env: "prod",
      host: "web-1",
    }]);
    assert.equal(await total(app, ACME, "system_load_1"), 2);
    assert.equal(await total(app, ACME, "dup_tags"), 0);
    assert.equal(telemetry.counter("lookout_samples_rejected_total", { tenant: acme, reason: "too_old" }), 1);
    assert.equal(telemetry.counter("lookout_samples_accepted_total", { tenant: acme }), 2);
    const metrics = await (await app.request("/metrics")).text();
    assert.match(
      metrics,
      new RegExp(`lookout_samples_rejected_total\\{tenant="${acme}",reason="too_far_in_future"\\} 1`),
    );
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: a request with nothing valid is 400 with per-series reasons and stores nothing", async () => {
  const { app, pipeline } = await setup();
  try {
    const res = await app.request("/v1/samples", {
      method: "POST",
      headers: ACME,
      body: JSON.stringify({ metric: "bad name", labels: {}, timestamps: [Date.now()], values: [1] }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.errors[0].index, 0);
    assert.match(body.errors[0].reason, /not a valid name/);
    const offsets = await pipeline.log.offsets(TOPIC);
    assert.equal(offsets.reduce((n, o) => n + o.end, 0), 0, "nothing was appended to the log");
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: a retried request with the same Idempotency-Key, or the same body, is stored once", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = Date.now();
    const ndjson = [
      JSON.stringify({
        metric: "req",
        labels: { a: "1" },
        timestamps: [now - 2000, now - 1000],
        values: [1, 2],
      }),
      JSON.stringify({ metric: "req", labels: { a: "2" }, timestamps: [now - 1000], values: [3] }),
    ].join("\n");
    const send = (key?: string, body = ndjson) =>
      app.request("/v1/samples", {
        method: "POST",
        body,
        headers: {
          ...ACME,
          "content-type": "application/x-ndjson",
          ...(key ? { "idempotency-key": key } : {}),
        },
      });
    const appended = async () => (await pipeline.log.offsets(TOPIC)).reduce((n, o) => n + o.end, 0);
    for (let i = 0; i < 3; i++) assert.equal((await send("batch-1")).status, 202);
    const once = await appended();
    assert.ok(once > 0);
    assert.equal((await send()).status, 202); // same body, no key: content hash
    assert.equal((await send()).status, 202);
    // "batch-1" once, and the keyless body once (its hash is a different key)
    assert.equal(await appended(), 2 * once);
    await pipeline.caughtUp();
    // Both appends hold the same samples; raw keeps each series and timestamp once.
    assert.equal(await total(app, ACME, "req"), 3);
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: bodies over the limit get 413, compressed or decompressed", async () => {
  const { app, pipeline } = await setup();
  try {
    const big = new Uint8Array(70 * 1024).fill(32);
    assert.equal(
      (await app.request("/v1/samples", { method: "POST", body: big, headers: ACME })).status,
      413,
    );
    const bomb = gzipSync(new Uint8Array(50 * 1024 * 1024));
    const res = await app.request("/v1/samples", {
      method: "POST",
      body: bomb,
      headers: { ...ACME, "content-encoding": "gzip" },
    });
    assert.equal(res.status, 413);
    assert.match((await res.json()).detail, /decompresses to more than 262144 bytes/);
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: tenant isolation on query, series and label endpoints", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = Date.now();
    const body = JSON.stringify({
      metric: "secret",
      labels: { project: "apollo" },
      timestamps: [now - 1000],
      values: [7],
    });
    assert.equal((await app.request("/v1/samples", { method: "POST", body, headers: ACME })).status, 202);
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "secret"), 1);
    assert.equal(await total(app, GLOBEX, "secret"), 0);
    assert.deepEqual(
      (await (await app.request("/v1/series?metric=secret", { headers: GLOBEX })).json()).series,
      [],
    );
    assert.deepEqual((await (await app.request("/v1/labels", { headers: GLOBEX })).json()).labels, [
      "__name__",
    ]);
    assert.deepEqual(
      (await (await app.request("/v1/labels/project/values", { headers: GLOBEX })).json()).values,
      [],
    );
    assert.deepEqual(
      (await (await app.request("/v1/labels/project/values", { headers: ACME })).json()).values,
      ["apollo"],
    );
    const filtered = async (headers: Record<string, string>, project: string) => {
      const r = await app.request("/v1/query", {
        method: "POST",
        headers,
        body: query("secret", { filters: { project } }),
      });
      return (await r.json()).series.length;
    };
    assert.equal(await filtered(ACME, "apollo"), 1);
    assert.equal(await filtered(ACME, "zeus"), 0);
    // a filter naming a tenant label cannot reach another tenant's rows
    const res = await app.request("/v1/query", {
      method: "POST",
      headers: GLOBEX,
      body: query("secret", { filters: { tenant: "acme" } }),
    });
    assert.deepEqual((await res.json()).series, []);
  } finally {
    await pipeline.close();
  }
});

Deno.test("api: query validation answers problem+json with the reason", async () => {
  const { app, pipeline } = await setup();
  try {
    const bad = await app.request("/v1/query", {
      method: "POST",
      headers: ACME,
      body: query("cpu", { agg: "median" }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).detail, /agg/);
    const step = await app.request("/v1/query", {
      method: "POST",
      headers: ACME,
      body: query("cpu", { resolution: "1h", step: 90_000 }),
    });
    assert.equal(step.status, 400);
    assert.match((await step.json()).detail, /not a multiple of 3600000/);
    const now = Date.now();
    const points = await app.request("/v1/query", {
      method: "POST",
      headers: ACME,
      body: query("cpu", { from: now - 30 * DAY, to: now, step: 1000, resolution: "raw" }),
    });
    assert.equal(points.status, 422);
    assert.match((await points.json()).detail, /points per series/);
    const unknown = await app.request("/v1/nothing", { headers: ACME });
    assert.equal(unknown.status, 404);
  } finally {
    await pipeline.close();
  }
});
