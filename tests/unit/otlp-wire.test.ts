/**
 * Differential: the hand-written OTLP protobuf reader against protobufjs + the JSON-shape
 * walker on the same bytes, with and without the series cache, for every shape of point
 * the walker knows and for malformed bodies.
 */
import assert from "node:assert/strict";
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeOtlp } from "../../commands/ingest/otlp.ts";
import { decodeOtlpProtobuf, encodeOtlpRequest } from "../../commands/ingest/otlp-proto.ts";
import { decodeOtlpWire } from "../../commands/ingest/otlp-wire.ts";
import { ValidationError } from "../../domain/errors.ts";
import { decodeAllPaths, decodeContext, observed } from "../support/decode-paths.ts";
import { seededRandom } from "../support/seeded-random.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx = decodeContext(NOW);
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function same(request: Record<string, unknown>, c: DecodeContext = ctx): void {
  const bytes = encodeOtlpRequest(request);
  const want = decodeAllPaths(c, (x) => decodeOtlp(decodeOtlpProtobuf(bytes), x));
  const got = decodeAllPaths(c, (x) => decodeOtlpWire(bytes, x));
  assert.deepEqual(observed(got), observed(want), JSON.stringify(request).slice(0, 300));
  assert.equal(got.rejectedDataPoints, want.rejectedDataPoints);
}

function point(i: number, extra: Record<string, unknown> = {}) {
  return {
    attributes: [str("host", `h${i}`), str("dc", "eu")],
    timeUnixNano: `${NOW - i * 1000}123456`,
    asDouble: i + 0.5,
    ...extra,
  };
}

Deno.test("otlp wire: gauges and sums, resource and point attributes, as protobufjs reads them", () => {
  same({
    resourceMetrics: [{
      resource: { attributes: [str("service.name", "api"), { key: "n", value: { intValue: "7" } }] },
      scopeMetrics: [{
        scope: { name: "lib" },
        metrics: [
          {
            name: "system.cpu.time",
            gauge: { dataPoints: [point(0), point(1), point(2, { asDouble: undefined, asInt: "-42" })] },
          },
          {
            name: "requests",
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: [point(3), point(4, { flags: 1 })],
            },
          },
        ],
      }],
    }, {
      resource: { attributes: [str("service.name", "db")] },
      scopeMetrics: [{
        metrics: [{ name: "requests", sum: { aggregationTemporality: 1, dataPoints: [point(0)] } }],
      }],
    }, {
      scopeMetrics: [{
        metrics: [{ name: "no_resource", gauge: { dataPoints: [point(0, { attributes: [] })] } }],
      }],
    }],
  });
});

Deno.test("otlp wire: histograms, summaries, exponential histograms and odd metrics go through the walker", () => {
  same({
    resourceMetrics: [{
      resource: { attributes: [str("service.name", "api")] },
      scopeMetrics: [{
        metrics: [
          { name: "g", gauge: { dataPoints: [point(0)] } },
          {
            name: "latency",
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [{
                ...point(1),
                bucketCounts: ["1", "2", "3"],
                explicitBounds: [0.1, 1],
                count: "6",
                sum: 2.5,
              }],
            },
          },
          {
            name: "q",
            summary: {
              dataPoints: [{
                ...point(2),
                count: "3",
                sum: 1.5,
                quantileValues: [{ quantile: 0.5, value: 0.25 }],
              }],
            },
          },
          { name: "e", exponentialHistogram: { dataPoints: [{ ...point(3), count: "1" }] } },
          { name: "", gauge: { dataPoints: [point(4), point(5)] } },
          { name: "nodata" },
          { name: "g2", gauge: { dataPoints: [point(6)] } },
        ],
      }],
    }],
  });
});

Deno.test("otlp wire: bad points are rejected alone with the walker's reasons", () => {
  same({
    resourceMetrics: [{
      resource: { attributes: [str("service.name", "api")] },
      scopeMetrics: [{
        metrics: [{
          name: "m",
          gauge: {
            dataPoints: [
              point(0),
              point(1, { attributes: [str("service.name", "other")] }), // given twice with another value
              point(2, { timeUnixNano: undefined }),
              point(3, { asDouble: undefined }),
              point(4, { timeUnixNano: `${NOW + 86_400_000}000000` }),
              point(5, {
                attributes: [str("a.b", "x"), {
                  key: "list",
                  value: { arrayValue: { values: [{ intValue: "1" }, { boolValue: true }] } },
                }],
              }),
              point(6, {
                attributes: [{ key: "bytes", value: { bytesValue: "AAE=" } }, {
                  key: "d",
                  value: { doubleValue: 0.5 },
                }],
              }),
              point(7, { asDouble: NaN }),
              point(8, { asDouble: -Infinity }),
            ],
          },
        }],
      }],
    }, {
      resource: { attributes: [str("x", "1"), str("x", "2")] }, // the resource itself is bad
      scopeMetrics: [{ metrics: [{ name: "m", gauge: { dataPoints: [point(0)] } }] }],
    }],
  });
});

Deno.test("otlp wire: random requests agree with protobufjs, including nanosecond edges", () => {
  const random = seededRandom(20261201);
  for (let round = 0; round < 40; round++) {
    const dataPoints = Array.from({ length: random.int(1, 30) }, () => ({
      attributes: Array.from({ length: random.int(0, 4) }, (_, k) => str(`k${k}`, `v${random.int(0, 3)}`)),
      // Milliseconds just below and at a boundary, and values past 2^53 nanoseconds.
      timeUnixNano: `${NOW - random.int(0, 3_600_000)}${
        ["000000", "999999", "000001", "500000"][random.int(0, 3)]
      }`,
      ...(random.int(0, 3) === 0
        ? { asInt: String(random.int(-1e6, 1e6) * 1e9) }
        : { asDouble: random.next() * 100 - 50 }),
      flags: random.int(0, 5) === 0 ? 1 : 0,
      startTimeUnixNano: `${NOW - 3_600_000}000000`,
    }));
    same({
      resourceMetrics: [{
        resource: { attributes: [str("service.name", `s${random.int(0, 2)}`)] },
        scopeMetrics: [{ metrics: [{ name: `m${random.int(0, 3)}`, gauge: { dataPoints } }] }],
      }],
    });
  }
});

Deno.test("otlp wire: a malformed or truncated body is refused as a whole", () => {
  const whole = encodeOtlpRequest({
    resourceMetrics: [{
      scopeMetrics: [{ metrics: [{ name: "m", gauge: { dataPoints: [point(0), point(1)] } }] }],
    }],
  });
  for (const cut of [1, 5, whole.length >> 1, whole.length - 1]) {
    const bytes = whole.subarray(0, cut);
    assert.throws(() => decodeOtlpProtobuf(bytes), ValidationError, `protobufjs, cut at ${cut}`);
    assert.throws(() => decodeOtlpWire(bytes, ctx), ValidationError, `wire, cut at ${cut}`);
  }
});
