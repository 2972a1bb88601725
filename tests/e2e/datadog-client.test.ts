/**
 * End to end with Datadog's official API client (`@datadog/datadog-api-client`) whose
 * server is set to the running program: `AuthenticationApi.validate`, v1
 * `MetricsApi.submitMetrics` plain and deflated, and v2 `submitMetrics`; every point
 * must come back through `POST /v1/query` at raw resolution under the documented name
 * and labels.
 */
import assert from "node:assert/strict";
import { client, v1, v2 } from "@datadog/datadog-api-client";
import { withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-dd-client-key-3e9a", globex: "globex-dd-client-key-51c0" };

Deno.test("Datadog API client: validate, v1 and v2 submitMetrics land as the documented series", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const configuration = client.createConfiguration({
      baseServer: new client.BaseServerConfiguration(program.url, {}),
      authMethods: { apiKeyAuth: TENANTS.acme },
      enableRetry: false,
    });
    const auth = await new v1.AuthenticationApi(configuration).validate();
    assert.equal(auth.valid, true);

    const now = Math.floor(Date.now() / 1000) - 120;
    const v1Metrics = new v1.MetricsApi(configuration);
    const plain = await v1Metrics.submitMetrics({
      body: {
        series: [{
          metric: "shop.orders",
          type: "count",
          host: "web-1",
          tags: ["env:prod", "team:core", "canary"],
          points: [[now, 3], [now + 10, 5]],
        }],
      },
    });
    assert.equal(plain.status, "ok");
    const deflated = await v1Metrics.submitMetrics({
      body: { series: [{ metric: "shop.orders", host: "web-2", tags: ["env:prod"], points: [[now, 7]] }] },
      contentEncoding: "deflate",
    });
    assert.equal(deflated.status, "ok");

    const v2Metrics = new v2.MetricsApi(configuration);
    const sent = await v2Metrics.submitMetrics({
      body: {
        series: [{
          metric: "shop.queue.depth",
          type: 3,
          points: [{ timestamp: now, value: 12.5 }],
          tags: ["env:prod"],
          resources: [{ type: "host", name: "web-1" }],
        }],
      },
    });
    assert.deepEqual(sent.errors ?? [], []);

    await program.waitForProjected();
    const query = (metric: string) =>
      program.query(TENANTS.acme, {
        metric,
        agg: "sum",
        from: now * 1000 - 60_000,
        to: now * 1000 + 60_000,
        step: 1000,
        resolution: "raw",
      });
    const orders = (await query("shop_orders")).series
      .map((s) => ({ labels: s.labels, points: s.points }))
      .sort((a, b) => a.labels.host.localeCompare(b.labels.host));
    assert.deepEqual(orders, [
      {
        labels: { __name__: "shop_orders", host: "web-1", env: "prod", team: "core", canary: "true" },
        points: [[now * 1000, 3], [now * 1000 + 10_000, 5]],
      },
      { labels: { __name__: "shop_orders", host: "web-2", env: "prod" }, points: [[now * 1000, 7]] },
    ]);
    const depth = (await query("shop_queue_depth")).series;
    assert.deepEqual(depth, [{
      labels: { __name__: "shop_queue_depth", host: "web-1", env: "prod" },
      points: [[now * 1000, 12.5]],
    }]);

    const wrong = client.createConfiguration({
      baseServer: new client.BaseServerConfiguration(program.url, {}),
      authMethods: { apiKeyAuth: "not-a-key-at-all" },
      enableRetry: false,
    });
    await assert.rejects(() => new v1.AuthenticationApi(wrong).validate(), /401/);
  });
});
