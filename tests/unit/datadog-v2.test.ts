import assert from "node:assert/strict";
import { decodeDatadogV2 } from "../../commands/ingest/datadog-v2.ts";
import type { DecodeContext, DecodeResult } from "../../commands/ingest/decode-context.ts";
import { ValidationError } from "../../domain/errors.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";
import { seriesId } from "../../domain/series.ts";
import { decodeAllPaths } from "../support/decode-paths.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const NOW_S = NOW / 1000;
const ctx: DecodeContext = {
  tenant: "acme",
  limits: defaultLabelLimits,
  now: NOW,
  maxAgeMs: 7 * 86_400_000,
  maxFutureMs: 600_000,
};

function samplesOf(result: DecodeResult): { metric: string; ts: number; value: number }[] {
  const { batch } = result;
  const out = [];
  for (let i = 0; i < batch.length; i++) {
    out.push({
      metric: batch.series[batch.seriesIndex[i]].metric,
      ts: batch.timestamps[i],
      value: batch.values[i],
    });
  }
  return out;
}

/** Every test decodes without, then with a cold and a warm series cache, all alike. */
const decode = (json: unknown, c: DecodeContext) => decodeAllPaths(c, (x) => decodeDatadogV2(json, x));

Deno.test("datadog v2: metric, tags, bare tags and resources map onto a Prometheus-style series", () => {
  const result = decode({
    series: [{
      metric: "system.load.1",
      type: 3,
      points: [{ timestamp: NOW_S - 20, value: 0.7 }, { timestamp: NOW_S - 10, value: 1.25 }],
      tags: ["env:prod", "url:http://x:8080/a", "canary", "team.name:core", "env:prod"],
      resources: [{ type: "host", name: "web-1" }],
      unit: "load",
      interval: 10,
    }],
  }, ctx);

  assert.deepEqual(result.rejectedSeries, []);
  assert.deepEqual(result.rejectedSamples, {});
  assert.equal(result.acceptedSamples, 2);
  const [def] = result.batch.series;
  assert.equal(result.batch.series.length, 1);
  assert.equal(def.metric, "system_load_1");
  assert.deepEqual(def.labels, {
    env: "prod",
    url: "http://x:8080/a",
    canary: "true",
    team_name: "core",
    host: "web-1",
  });
  assert.equal(def.id.hex, seriesId("acme", "system_load_1", def.labels).hex);
  assert.deepEqual(samplesOf(result), [
    { metric: "system_load_1", ts: NOW - 20_000, value: 0.7 },
    { metric: "system_load_1", ts: NOW - 10_000, value: 1.25 },
  ]);
});

Deno.test("datadog v2: fractional second timestamps are rounded to milliseconds", () => {
  const result = decode({
    series: [{ metric: "m", points: [{ timestamp: NOW_S - 1 + 0.1234, value: 1 }] }],
  }, ctx);
  assert.deepEqual(samplesOf(result).map((s) => s.ts), [NOW - 1000 + 123]);
});

Deno.test("datadog v2: one label with two values rejects the series and names the label", () => {
  const points = [{ timestamp: NOW_S, value: 1 }];
  const result = decode({
    series: [
      { metric: "a", points, tags: ["env:a", "env:b"] },
      { metric: "b", points, tags: ["host:x"], resources: [{ type: "host", name: "y" }] },
      { metric: "c", points, tags: ["team.name:x", "team_name:y"] },
      { metric: "d", points, tags: ["host:x"], resources: [{ type: "host", name: "x" }] },
    ],
  }, ctx);

  assert.deepEqual(result.rejectedSeries, [
    { index: 0, metric: "a", reason: 'label "env" is given twice with different values ("a" and "b")' },
    { index: 1, metric: "b", reason: 'label "host" is given twice with different values ("x" and "y")' },
    { index: 2, metric: "c", reason: 'label "team_name" is given twice with different values ("x" and "y")' },
  ]);
  assert.deepEqual(result.rejectedSamples, { invalid_series: 3 });
  assert.deepEqual(result.batch.series.map((s) => [s.metric, s.labels]), [["d", { host: "x" }]]);
});

Deno.test("datadog v2: tag names that are object members are labels like any other", () => {
  const points = [{ timestamp: NOW_S, value: 1 }];
  const result = decode({
    series: [
      { metric: "ok", points, tags: ["toString:x", "constructor"] },
      { metric: "proto", points, tags: ["__proto__:x"] },
    ],
  }, ctx);
  assert.deepEqual(result.batch.series.map((s) => s.labels), [{ toString: "x", constructor: "true" }]);
  assert.equal(result.rejectedSeries.length, 1);
  assert.equal(result.rejectedSeries[0].index, 1);
  assert.match(result.rejectedSeries[0].reason, /label name "__proto__" is not a valid name/);
});

Deno.test("datadog v2: bad series are rejected one by one and the valid ones in the request kept", () => {
  const points = [{ timestamp: NOW_S, value: 2 }];
  const result = decode({
    series: [
      { metric: "first", points },
      "not a series",
      { points },
      { metric: "no_points" },
      { metric: "bad_type", type: 7, points },
      { metric: "bad_label", points, tags: ["__name__:x"] },
      { metric: "bad_tags", points, tags: "env:prod" },
      { metric: "bad_resource", points, resources: [{ type: "host" }] },
      { metric: "too_many", points, tags: Array.from({ length: 31 }, (_, i) => `t${i}:v`) },
      { metric: "long_value", points, tags: ["k:" + "x".repeat(2049)] },
      { metric: "last", points },
    ],
  }, ctx);

  assert.deepEqual(result.batch.series.map((s) => s.metric), ["first", "last"]);
  assert.equal(result.acceptedSamples, 2);
  const reasons = result.rejectedSeries.map((r) => [r.index, r.reason]);
  assert.deepEqual(reasons, [
    [1, "series is not a JSON object"],
    [2, '"metric" is missing or not a string'],
    [3, '"points" is missing or not an array'],
    [4, '"type" 7 is not 0 (unspecified), 1 (count), 2 (rate) or 3 (gauge)'],
    [5, 'label name "__name__" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'],
    [6, '"tags" is not an array of strings'],
    [7, 'resource 0 is not an object with string "type" and "name"'],
    [8, "series has 31 labels, over the limit of 30"],
    [9, 'label "k" has a value 2049 characters long, over the limit of 2048'],
  ]);
  assert.equal(result.rejectedSeries[3].metric, "bad_type");
  assert.deepEqual(result.rejectedSamples, { invalid_series: 7 });
});

Deno.test("datadog v2: samples outside the time window are rejected with a reason", () => {
  const retention = NOW_S - 7 * 86_400;
  const result = decode({
    series: [
      {
        metric: "old",
        points: [1, 2, 3].map((i) => ({ timestamp: retention - i, value: i })),
      },
      {
        metric: "future",
        points: [1, 2].map((i) => ({ timestamp: NOW_S + 600 + i, value: i })),
      },
      {
        metric: "edges",
        points: [
          { timestamp: retention - 1, value: 1 },
          { timestamp: retention, value: 2 },
          { timestamp: NOW_S + 600, value: 3 },
          { timestamp: NOW_S + 601, value: 4 },
        ],
      },
      {
        metric: "both",
        points: [{ timestamp: retention - 1, value: 1 }, { timestamp: NOW_S + 3600, value: 2 }],
      },
      { metric: "single", points: [{ timestamp: 0, value: 1 }] },
    ],
  }, ctx);

  assert.deepEqual(result.rejectedSeries, [
    { index: 0, metric: "old", reason: "all 3 samples are older than the raw retention of 7d" },
    { index: 1, metric: "future", reason: "all 2 samples are more than 10m in the future" },
    {
      index: 3,
      metric: "both",
      reason:
        "all 2 samples are outside the accepted time window: 1 older than the raw retention of 7d, 1 more than 10m in the future",
    },
    { index: 4, metric: "single", reason: "the only sample is older than the raw retention of 7d" },
  ]);
  assert.deepEqual(result.rejectedSamples, { too_old: 6, too_far_in_future: 4 });
  assert.deepEqual(samplesOf(result), [
    { metric: "edges", ts: retention * 1000, value: 2 },
    { metric: "edges", ts: (NOW_S + 600) * 1000, value: 3 },
  ]);
  assert.equal(result.batch.series.length, 1);
});

Deno.test("datadog v2: a null or non-numeric value rejects only that point", () => {
  const result = decode({
    series: [{
      metric: "m",
      points: [
        { timestamp: NOW_S - 3, value: null },
        { timestamp: NOW_S - 2, value: "1.5" },
        { timestamp: NOW_S - 1, value: 1.5 },
        { timestamp: "yesterday", value: 1 },
        null,
        { timestamp: NOW_S, value: -0 },
      ],
    }, {
      metric: "all_bad",
      points: [{ timestamp: NOW_S, value: null }, { timestamp: NOW_S - 1e9, value: 1 }],
    }],
  }, ctx);

  assert.deepEqual(samplesOf(result), [
    { metric: "m", ts: NOW - 1000, value: 1.5 },
    { metric: "m", ts: NOW, value: -0 },
  ]);
  assert.deepEqual(result.rejectedSamples, { invalid_value: 3, invalid_timestamp: 2, too_old: 1 });
  assert.deepEqual(result.rejectedSeries, [{
    index: 1,
    metric: "all_bad",
    reason:
      "none of the 2 samples is acceptable: 1 older than the raw retention of 7d, 1 with a value that is not a number",
  }]);
});

Deno.test("datadog v2: a series without points is reported and not stored", () => {
  const result = decode({ series: [{ metric: "m", points: [] }] }, ctx);
  assert.equal(result.batch.series.length, 0);
  assert.deepEqual(result.rejectedSeries, [{ index: 0, metric: "m", reason: "series has no samples" }]);
});

Deno.test("datadog v2: a body without a series array is a validation error", () => {
  for (const body of [{}, [], null, "x", { series: {} }, { data: [] }]) {
    assert.throws(
      () => decode(body, ctx),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.message === 'Cannot ingest Datadog series: the body must be a JSON object with a "series" array',
      JSON.stringify(body),
    );
  }
  assert.equal(decode({ series: [] }, ctx).acceptedSamples, 0);
});
