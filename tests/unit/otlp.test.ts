import assert from "node:assert/strict";
import { decodeOtlp } from "../../commands/ingest/otlp.ts";
import { decodeOtlpProtobuf, encodeOtlpRequest } from "../../commands/ingest/otlp-proto.ts";
import { decodeAllPaths, decodeContext, observed } from "../support/decode-paths.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx = decodeContext(NOW);
const NANOS = `${NOW}123456`;
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** Decodes the JSON shape, and the same request through protobuf, and checks they agree. */
function decode(request: Record<string, unknown>) {
  const json = decodeAllPaths(ctx, (c) => decodeOtlp(request, c));
  const viaProtobuf = decodeAllPaths(
    ctx,
    (c) => decodeOtlp(decodeOtlpProtobuf(encodeOtlpRequest(request)), c),
  );
  assert.deepEqual(observed(viaProtobuf), observed(json), "protobuf and JSON decode alike");
  assert.equal(viaProtobuf.rejectedDataPoints, json.rejectedDataPoints);
  return json;
}

function request(metrics: Record<string, unknown>[], resource = [str("service.name", "api")]) {
  return {
    resourceMetrics: [{
      resource: { attributes: resource },
      scopeMetrics: [{ scope: { name: "s" }, metrics }],
    }],
  };
}

function rows(result: ReturnType<typeof decode>) {
  const { batch } = result;
  return Array.from({ length: batch.length }, (_, i) => {
    const s = batch.series[batch.seriesIndex[i]];
    return [s.metric, { ...s.labels }, batch.timestamps[i], batch.values[i]] as const;
  });
}

Deno.test("otlp: gauges and sums become one sample per point, resource and point attributes as labels", () => {
  const result = decode(request([
    {
      name: "system.cpu.utilization",
      gauge: { dataPoints: [{ attributes: [str("cpu", "0")], timeUnixNano: NANOS, asDouble: 0.25 }] },
    },
    {
      name: "http.requests",
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [{ attributes: [str("route", "/a")], timeUnixNano: NANOS, asInt: "42" }],
      },
    },
    {
      name: "queue.delta",
      sum: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: NANOS, asDouble: 3 }] },
    },
  ]));
  assert.deepEqual(rows(result), [
    ["system_cpu_utilization", { service_name: "api", cpu: "0" }, NOW, 0.25],
    ["http_requests", { service_name: "api", route: "/a" }, NOW, 42],
    ["queue_delta", { service_name: "api" }, NOW, 3],
  ]);
  assert.equal(result.rejectedDataPoints, 0);
});

Deno.test("otlp: histograms become cumulative le buckets, _count and _sum; summaries quantiles", () => {
  const result = decode(request([
    {
      name: "latency",
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [{
          timeUnixNano: NANOS,
          count: "7",
          sum: 4.5,
          bucketCounts: ["1", "2", "3", "1"],
          explicitBounds: [0.1, 0.5, 1],
        }],
      },
    },
    {
      name: "rpc",
      summary: {
        dataPoints: [{
          timeUnixNano: NANOS,
          count: "3",
          sum: 1.5,
          quantileValues: [{ quantile: 0.5, value: 0.4 }, { quantile: 0.99, value: 0.9 }],
        }],
      },
    },
  ]));
  const labels = (extra: Record<string, string> = {}) => ({ service_name: "api", ...extra });
  assert.deepEqual(rows(result), [
    ["latency_bucket", labels({ le: "0.1" }), NOW, 1],
    ["latency_bucket", labels({ le: "0.5" }), NOW, 3],
    ["latency_bucket", labels({ le: "1" }), NOW, 6],
    ["latency_bucket", labels({ le: "+Inf" }), NOW, 7],
    ["latency_count", labels(), NOW, 7],
    ["latency_sum", labels(), NOW, 4.5],
    ["rpc", labels({ quantile: "0.5" }), NOW, 0.4],
    ["rpc", labels({ quantile: "0.99" }), NOW, 0.9],
    ["rpc_count", labels(), NOW, 3],
    ["rpc_sum", labels(), NOW, 1.5],
  ]);
});

Deno.test("otlp: NO_RECORDED_VALUE is the stale marker; arrays are JSON; bad points are rejected alone", () => {
  const result = decode(request([
    { name: "up", gauge: { dataPoints: [{ timeUnixNano: NANOS, asDouble: 1, flags: 1 }] } },
    {
      name: "tags",
      gauge: {
        dataPoints: [{
          attributes: [{
            key: "list",
            value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "2" }] } },
          }],
          timeUnixNano: NANOS,
          asDouble: 1,
        }],
      },
    },
    { name: "exp", exponentialHistogram: { dataPoints: [{ timeUnixNano: NANOS, count: "1" }] } },
    {
      name: "clash",
      gauge: {
        dataPoints: [{ attributes: [str("service.name", "other")], timeUnixNano: NANOS, asDouble: 1 }],
      },
    },
    { name: "old", gauge: { dataPoints: [{ timeUnixNano: "1000000", asDouble: 1 }] } },
    { name: "nodata" },
  ]));
  const bits = new BigUint64Array(result.batch.values.buffer, 0, 1)[0];
  assert.equal(bits.toString(16), "7ff0000000000002");
  assert.deepEqual(result.batch.series[1].labels, { service_name: "api", list: '["a","2"]' });
  assert.deepEqual(result.rejectedSeries.map((r) => [r.index, r.metric, r.reason]), [
    [2, "exp", "exponential histograms are not stored"],
    [3, "clash", 'label "service_name" is given twice with different values ("api" and "other")'],
    [4, "old", "the only sample is older than the raw retention of 7d"],
    [5, "nodata", "metric has no data points"],
  ]);
  assert.equal(result.rejectedDataPoints, 4);
});
