/**
 * End to end with the OpenTelemetry JS SDK (`@opentelemetry/sdk-metrics`) and its OTLP
 * HTTP exporters pointed at the running program: the JSON exporter with cumulative
 * temporality to `/v1/metrics`, the protobuf exporter with delta temporality to
 * `/otlp/v1/metrics`. A counter, a histogram with explicit buckets and an observable
 * gauge are exported twice; what `POST /v1/query` returns must be what was recorded,
 * with the resource attributes as labels.
 */
import assert from "node:assert/strict";
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonExporter,
} from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { type Program, withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-otlp-key-2b7e", globex: "globex-otlp-key-9f10" };
let began = 0;

async function record(program: Program, service: string, path: string, delta: boolean): Promise<void> {
  const options = {
    url: `${program.url}${path}`,
    headers: { Authorization: `Bearer ${TENANTS.acme}` },
    temporalityPreference: delta
      ? AggregationTemporalityPreference.DELTA
      : AggregationTemporalityPreference.CUMULATIVE,
  };
  const exporter = delta ? new ProtoExporter(options) : new JsonExporter(options);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": service, "deployment.environment": "test" }),
    readers: [reader],
  });
  const meter = provider.getMeter("checkout-meter");
  const requests = meter.createCounter("http.requests");
  const latency = meter.createHistogram("http.latency", {
    advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  let temperature = 21.5;
  meter.createObservableGauge("room.temperature").addCallback((r) => r.observe(temperature, { room: "lab" }));

  requests.add(5, { route: "/a" });
  for (const v of [0.05, 0.3, 0.7, 2]) latency.record(v, { route: "/a" });
  await reader.forceFlush();
  requests.add(3, { route: "/a" });
  latency.record(0.2, { route: "/a" });
  temperature = 22.25;
  await reader.forceFlush();
  await provider.shutdown();
}

/**
 * Every point of a metric for one service since the test began, at raw resolution with
 * a step of 1 ms (the exports are milliseconds apart) or, on a slow run, the smallest
 * step the point limit allows.
 */
async function points(
  program: Program,
  metric: string,
  service: string,
  filters: Record<string, string> = {},
) {
  const to = Date.now() + 1000;
  const reply = await program.query(TENANTS.acme, {
    metric,
    filters: { service_name: service, ...filters },
    agg: "last",
    from: began,
    to,
    step: Math.max(1, Math.ceil((to - began) / 10_000)),
    resolution: "raw",
  });
  assert.equal(
    reply.series.length,
    1,
    `${metric} ${service} ${JSON.stringify(filters)}: ${JSON.stringify(reply)}`,
  );
  return { labels: reply.series[0].labels, values: reply.series[0].points.map(([, v]) => Number(v)) };
}

Deno.test("OpenTelemetry SDK: JSON cumulative and protobuf delta exports read back as recorded", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    began = Date.now() - 1000;
    await record(program, "checkout-json", "/v1/metrics", false);
    await record(program, "checkout-proto", "/otlp/v1/metrics", true);
    await program.waitForProjected();

    // Each provider exports three times: two flushes and its shutdown. Cumulative
    // points repeat at shutdown; delta ones have nothing new, so there is none.
    const cumulative = await points(program, "http_requests", "checkout-json");
    assert.deepEqual(cumulative.values, [5, 8, 8]);
    assert.deepEqual(cumulative.labels, {
      __name__: "http_requests",
      service_name: "checkout-json",
      deployment_environment: "test",
      route: "/a",
    });
    assert.deepEqual((await points(program, "http_requests", "checkout-proto")).values, [5, 3]);

    // Cumulative histogram: buckets as Prometheus has them, counts cumulative over le.
    const json = "checkout-json";
    for (
      const [le, values] of [["0.1", [1, 1, 1]], ["0.5", [2, 3, 3]], ["1", [3, 4, 4]], ["+Inf", [
        4,
        5,
        5,
      ]]] as const
    ) {
      assert.deepEqual(
        (await points(program, "http_latency_bucket", json, { le })).values,
        values,
        `le=${le}`,
      );
    }
    assert.deepEqual((await points(program, "http_latency_count", json)).values, [4, 5, 5]);
    assert.deepEqual((await points(program, "http_latency_sum", json)).values, [3.05, 3.25, 3.25]);
    // Delta histogram: each export holds only what was recorded since the last one.
    const proto = "checkout-proto";
    assert.deepEqual((await points(program, "http_latency_bucket", proto, { le: "0.5" })).values, [2, 1]);
    assert.deepEqual((await points(program, "http_latency_count", proto)).values, [4, 1]);

    for (const service of [json, proto]) {
      const gauge = await points(program, "room_temperature", service);
      assert.deepEqual(gauge.values, [21.5, 22.25, 22.25]);
      assert.equal(gauge.labels.room, "lab");
    }
    const globex = await program.get("/v1/series?metric=http_requests", TENANTS.globex);
    assert.deepEqual(globex.body, { series: [] });
  });
});
