/**
 * Bad input against the real program, TESTING.md rows 1, 2 and 10:
 * - every ingest and query route answers 401 with its reason without a key, and a key of
 *   tenant acme with headers or parameters naming globex writes acme's data only;
 * - acme asking for globex's series through every query API gets zero rows of globex,
 *   while globex reads them back (so the probe data is there to leak);
 * - the same batch twice under one Idempotency-Key, also across a `kill -9` right after
 *   the log's ack, is stored once; globex using the same key is not affected.
 */
import assert from "node:assert/strict";
import { type Program, withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-tenancy-key-31c7", globex: "globex-tenancy-key-8e02" };
const ACME = TENANTS.acme;
const GLOBEX = TENANTS.globex;
const HOUR = 3_600_000;
/** What acme would see of globex's probe series if it leaked: its metric, label name or value. */
const LEAK = /leak_probe|globex_secret|leak_value/;

function samples(metric: string, labels: Record<string, string>, ts: number[], values: number[]) {
  return { metric, labels, timestamps: ts, values };
}

async function stored(
  program: Program,
  key: string,
  metric: string,
  now: number,
  agg = "count",
): Promise<number> {
  const reply = await program.query(key, {
    metric,
    agg,
    by: [],
    from: now - HOUR,
    to: now + HOUR,
    step: 2 * HOUR,
    resolution: "raw",
  });
  return reply.series.reduce((n, s) => n + s.points.reduce((m, [, v]) => m + Number(v), 0), 0);
}

Deno.test("bad input: no key is 401 on every route; a header naming another tenant is ignored", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const routes: [string, string][] = [
      ["POST", "/v1/samples"],
      ["POST", "/api/v1/write"],
      ["POST", "/api/v2/write"],
      ["POST", "/write?db=x"],
      ["POST", "/v1/metrics"],
      ["POST", "/otlp/v1/metrics"],
      ["POST", "/api/v2/series"],
      ["POST", "/api/v1/series"],
      ["GET", "/api/v1/validate"],
      ["POST", "/v1/query"],
      ["GET", "/v1/series"],
      ["GET", "/v1/cardinality"],
      ["GET", "/api/v1/query?query=up"],
      ["GET", "/api/v1/labels"],
      ["GET", "/v1/rules"],
      ["GET", "/v1/incidents"],
    ];
    for (const [method, path] of routes) {
      const unauthenticated: Record<string, string>[] = [
        {},
        { "x-scope-orgid": "acme", "x-tenant": "acme" },
        { "dd-api-key": "acme" },
      ];
      for (const headers of unauthenticated) {
        const res = await fetch(program.url + path, {
          method,
          headers,
          body: method === "POST" ? "{}" : undefined,
        });
        const body = await res.json();
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        assert.match(body.detail, /^A valid API key is required/);
      }
    }

    // acme's key with every way a client might name globex: the data is acme's.
    const now = Date.now();
    const naming = { "x-scope-orgid": "globex", "x-tenant": "globex", "x-lookout-tenant": "globex" };
    const native = await program.post("/v1/samples", samples("named_other", { via: "native" }, [now], [1]), {
      headers: { ...naming, authorization: `Bearer ${ACME}` },
    });
    assert.equal(native.status, 202);
    const influx = await fetch(
      `${program.url}/api/v2/write?org=globex&bucket=globex&precision=ms`,
      {
        method: "POST",
        headers: { ...naming, authorization: `Token ${ACME}` },
        body: `named_other,via=influx value=2 ${now}`,
      },
    );
    assert.equal(influx.status, 204, await influx.text());
    const v1 = await fetch(`${program.url}/write?db=globex&u=globex&p=${ACME}&precision=ms`, {
      method: "POST",
      body: `named_other,via=influx1 value=3 ${now}`,
    });
    assert.equal(v1.status, 204, await v1.text());
    await program.waitForProjected();
    assert.equal(await stored(program, ACME, "named_other", now), 1);
    assert.equal(await stored(program, ACME, "named_other_value", now), 2);
    assert.equal(await stored(program, GLOBEX, "named_other", now), 0);
    assert.equal(await stored(program, GLOBEX, "named_other_value", now), 0);
  });
});

Deno.test("bad input: a tenant asking for another tenant's series by any API gets none of them", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const now = Date.now();
    const write = async (key: string, metric: string, labels: Record<string, string>) => {
      const res = await program.post("/v1/samples", samples(metric, labels, [now - 60_000, now], [5, 6]), {
        key,
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    };
    await write(GLOBEX, "leak_probe", { globex_secret: "leak_value", tenant: "globex" });
    await write(ACME, "acme_only", { host: "a1" });
    await program.waitForProjected();
    const t = Math.floor(now / 1000);
    const range = `start=${t - 600}&end=${t + 60}&step=60`;
    const selectors = ["leak_probe", '{__name__=~".+"}', '{tenant="globex"}', '{globex_secret!=""}'];
    // Each lookup returns what a tenant can see; the leak shows up as globex's metric or label.
    const lookups: [string, (body: unknown) => string[]][] = [
      ...selectors.flatMap((s): [string, (body: unknown) => string[]][] => [
        [`/api/v1/query?query=${encodeURIComponent(s)}&time=${t}`, promNames],
        [`/api/v1/query?query=${encodeURIComponent(`count_over_time(${s}[10m])`)}&time=${t}`, promNames],
        [`/api/v1/query_range?query=${encodeURIComponent(s)}&${range}`, promNames],
        [`/api/v1/series?match[]=${encodeURIComponent(s)}&${range}`, (b) => data(b).map((x) => x.__name__)],
      ]),
      ["/api/v1/labels", (b) => data(b) as unknown as string[]],
      ["/api/v1/label/__name__/values", (b) => data(b) as unknown as string[]],
      ["/api/v1/label/globex_secret/values", (b) => data(b) as unknown as string[]],
      ["/v1/series", (b) => (b as { series: { metric: string }[] }).series.map((s) => s.metric)],
      [
        "/v1/series?metric=leak_probe",
        (b) => (b as { series: { metric: string }[] }).series.map((s) => s.metric),
      ],
      ["/v1/labels", (b) => (b as { labels: string[] }).labels],
      ["/v1/labels/globex_secret/values", (b) => (b as { values: string[] }).values],
      ["/v1/cardinality", (b) => JSON.stringify(b).match(new RegExp(LEAK, "g")) ?? []],
    ];
    let leaked = 0;
    for (const [path, names] of lookups) {
      const own = await program.get(path, GLOBEX);
      assert.equal(own.status, 200, `${path}: ${JSON.stringify(own.body)}`);
      const asAcme = await program.get(path, ACME);
      assert.equal(asAcme.status, 200, `${path}: ${JSON.stringify(asAcme.body)}`);
      const seen = names(asAcme.body).filter((n) => LEAK.test(n));
      leaked += seen.length;
      assert.deepEqual(seen, [], `${path} as acme`);
      // Control: globex itself sees the probe through the same lookup.
      assert.ok(names(own.body).some((n) => LEAK.test(n)), `${path} as globex`);
    }
    for (const resolution of ["raw", "1m", "1h"]) {
      const reply = await program.query(ACME, {
        metric: "leak_probe",
        agg: "count",
        from: now - HOUR,
        to: now + HOUR,
        step: resolution === "1h" ? HOUR : 60_000,
        resolution,
      });
      assert.equal(reply.series.length, 0, `/v1/query ${resolution}`);
    }
    console.log(`${lookups.length} lookups and 3 resolutions as acme: ${leaked} rows of globex`);
  });
});

Deno.test("bad input: the same batch twice, also across a kill -9 right after the ack, is stored once", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const now = Date.now();
    // Each batch has timestamps of its own, and each attempt sends other values: a retry
    // stored again would replace the values of the first attempt (the last written wins),
    // so the sum tells which attempts were stored.
    let attempt = 0;
    const send = (key: string, idempotencyKey: string) => {
      const end = now - 3000 * (Number(idempotencyKey.slice(-1)) - 1);
      const value = ++attempt;
      const batch = [
        samples("retry_probe", { i: "0" }, [end - 3000, end - 2000, end - 1000], [value, value, value]),
      ];
      return program.post("/v1/samples", batch, { key, headers: { "idempotency-key": idempotencyKey } });
    };
    assert.equal((await send(ACME, "batch-0001")).status, 202);
    assert.equal((await send(ACME, "batch-0001")).status, 202);
    // The log has acknowledged the second batch when the 202 arrives; nothing else runs.
    assert.equal((await send(ACME, "batch-0002")).status, 202);
    await program.kill9();
    await program.restart();
    assert.equal((await send(ACME, "batch-0002")).status, 202);
    assert.equal((await send(ACME, "batch-0001")).status, 202);
    // Another tenant's key space is its own: globex's batch-0001 is a new batch.
    assert.equal((await send(GLOBEX, "batch-0001")).status, 202);
    await program.waitForProjected();
    const acme = await stored(program, ACME, "retry_probe", now);
    const globex = await stored(program, GLOBEX, "retry_probe", now);
    console.log(`acme: 5 requests of 2 batches, ${acme} samples stored (expected 6); globex ${globex} (3)`);
    assert.equal(acme, 6, "two distinct batches of three samples");
    assert.equal(globex, 3);
    // Attempts 1 (batch-0001) and 3 (batch-0002) for acme, attempt 6 for globex.
    assert.equal(await stored(program, ACME, "retry_probe", now, "sum"), 3 * 1 + 3 * 3);
    assert.equal(await stored(program, GLOBEX, "retry_probe", now, "sum"), 3 * 6);
    // Control: a third key is a new batch, and the count and the sum see it (attempt 7).
    assert.equal((await send(ACME, "batch-0003")).status, 202);
    await program.waitForProjected();
    assert.equal(await stored(program, ACME, "retry_probe", now), 9);
    assert.equal(await stored(program, ACME, "retry_probe", now, "sum"), 3 * 1 + 3 * 3 + 3 * 7);
  });
});

function data(body: unknown): Record<string, string>[] {
  const reply = body as { status: string; data: Record<string, string>[] };
  assert.equal(reply.status, "success");
  return reply.data;
}

function promNames(body: unknown): string[] {
  const result = (body as { data: { result: { metric: Record<string, string> }[] } }).data.result;
  return result.flatMap((r) => Object.entries(r.metric).flatMap(([k, v]) => [k, v]));
}
