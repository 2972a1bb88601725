import assert from "node:assert/strict";
import type { DecodeContext, DecodeResult } from "../../commands/ingest/decode-context.ts";
import { decodeNative } from "../../commands/ingest/native.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { ValidationError } from "../../domain/errors.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";
import { seriesId } from "../../domain/series.ts";
import { decodeAllPaths } from "../support/decode-paths.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx: DecodeContext = {
  tenant: "acme",
  limits: defaultLabelLimits,
  now: NOW,
  maxAgeMs: 30 * 86_400_000,
  maxFutureMs: 600_000,
};

function samplesOf(result: DecodeResult): [string, number, number][] {
  const { batch } = result;
  const out: [string, number, number][] = [];
  for (let i = 0; i < batch.length; i++) {
    out.push([batch.series[batch.seriesIndex[i]].metric, batch.timestamps[i], batch.values[i]]);
  }
  return out;
}

const line = (o: unknown) => JSON.stringify(o);

/** Every test decodes without, then with a cold and a warm series cache, all alike. */
const decode = (text: string, type: string, c: DecodeContext) =>
  decodeAllPaths(c, (x) => decodeNative(text, type, x));

Deno.test("native: a single JSON object is one series, stored with its labels and id", () => {
  const result = decode(
    line({
      metric: "cpu_usage",
      labels: { host: "a", mode: "user" },
      timestamps: [NOW - 1000, NOW],
      values: [1, 2],
    }),
    "application/json",
    ctx,
  );
  assert.deepEqual(result.rejectedSeries, []);
  assert.equal(result.acceptedSamples, 2);
  const [def] = result.batch.series;
  assert.deepEqual(def.labels, { host: "a", mode: "user" });
  assert.equal(def.id.hex, seriesId("acme", "cpu_usage", { mode: "user", host: "a" }).hex);
  assert.deepEqual(samplesOf(result), [["cpu_usage", NOW - 1000, 1], ["cpu_usage", NOW, 2]]);
});

Deno.test("native: NaN and infinities travel as strings and are stored exactly", () => {
  const result = decode(
    line([{
      metric: "m",
      timestamps: [NOW, NOW, NOW, NOW, NOW, NOW],
      values: ["NaN", "+Inf", "Inf", "-Inf", "1.5", "nan"],
    }]),
    "application/json",
    ctx,
  );
  const values = Array.from(result.batch.values.subarray(0, result.batch.length));
  assert.deepEqual(values, [NaN, Infinity, Infinity, -Infinity]);
  assert.deepEqual(result.rejectedSamples, { invalid_value: 2 });
  assert.deepEqual(result.batch.series[0].labels, {});
});

Deno.test("native: an array of series rejects bad ones with reasons and keeps the rest", () => {
  const ts = [NOW];
  const body = line([
    { metric: "ok_1", labels: { a: "1" }, timestamps: ts, values: [1] },
    { metric: "system.load.1", timestamps: ts, values: [1] },
    { metric: "m", labels: { a: 1 }, timestamps: ts, values: [1] },
    { metric: "m", labels: ["a"], timestamps: ts, values: [1] },
    { metric: "m", timestamps: [NOW, NOW], values: [1] },
    { metric: "m", timestamps: ts },
    { labels: {}, timestamps: ts, values: [1] },
    42,
    { metric: "m", labels: { "bad-name": "x" }, timestamps: ts, values: [1] },
    { metric: "ok_2", timestamps: ts, values: [2] },
  ]);
  const result = decode(body, "application/json", ctx);

  assert.deepEqual(samplesOf(result), [["ok_1", NOW, 1], ["ok_2", NOW, 2]]);
  assert.deepEqual(result.rejectedSeries.map((r) => [r.index, r.reason]), [
    [1, 'metric name "system.load.1" is not a valid name ([a-zA-Z_:][a-zA-Z0-9_:]*)'],
    [2, 'label "a" has a value that is not a string'],
    [3, '"labels" must be an object of strings'],
    [4, '"timestamps" has 2 entries but "values" has 1'],
    [5, '"timestamps" and "values" must both be arrays'],
    [6, '"metric" is missing or not a string'],
    [7, "series is not a JSON object"],
    [8, 'label name "bad-name" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'],
  ]);
  assert.equal(result.rejectedSeries[0].metric, "system.load.1");
  // A length mismatch counts the longer column: 2 samples for index 4.
  assert.deepEqual(result.rejectedSamples, { invalid_series: 8 });
});

Deno.test("native: time window rejections say why; fractional milliseconds are rounded", () => {
  const old = NOW - 30 * 86_400_000;
  const body = "[" + [
    line({ metric: "old", timestamps: [old - 2, old - 1], values: [1, 2] }),
    line({ metric: "future", timestamps: [NOW + 600_001], values: [1] }),
    line({ metric: "edge", timestamps: [old, NOW + 600_000, NOW - 1000 + 0.6], values: [1, 2, 3] }),
    '{"metric":"nonfinite","timestamps":[1e400,"x"],"values":[1,2]}',
  ].join(",") + "]";
  const result = decode(body, "application/json", ctx);

  assert.deepEqual(result.rejectedSeries, [
    { index: 0, metric: "old", reason: "all 2 samples are older than the raw retention of 30d" },
    { index: 1, metric: "future", reason: "the only sample is more than 10m in the future" },
    {
      index: 3,
      metric: "nonfinite",
      reason: "none of the 2 samples is acceptable: 2 without a valid timestamp",
    },
  ]);
  assert.deepEqual(samplesOf(result), [["edge", old, 1], ["edge", NOW + 600_000, 2], ["edge", NOW - 999, 3]]);
  assert.deepEqual(result.rejectedSamples, { too_old: 2, too_far_in_future: 1, invalid_timestamp: 2 });
});

Deno.test("native: NDJSON by content type; a malformed line rejects only its own series", () => {
  const body = [
    line({ metric: "a", timestamps: [NOW], values: [1] }),
    '{"metric":"b","timestamps":[',
    "",
    line({ metric: "c.d", timestamps: [NOW], values: [3] }),
    "  ",
    line({ metric: "e", labels: { k: "v" }, timestamps: [NOW], values: [5] }) + "\r",
    "[1,2]",
    "",
  ].join("\n");
  const result = decode(body, "application/x-ndjson; charset=utf-8", ctx);

  assert.deepEqual(samplesOf(result), [["a", NOW, 1], ["e", NOW, 5]]);
  assert.deepEqual(result.rejectedSeries.map((r) => r.index), [1, 3, 6]);
  assert.match(result.rejectedSeries[0].reason, /^line is not valid JSON \(.+\)$/);
  assert.match(result.rejectedSeries[1].reason, /metric name "c\.d" is not a valid name/);
  assert.equal(result.rejectedSeries[2].reason, "series is not a JSON object");
});

Deno.test("native: NDJSON is recognised by its lines whatever the content type", () => {
  const body = [
    line({ metric: "a", timestamps: [NOW], values: [1] }),
    line({ metric: "b", timestamps: [NOW], values: [2] }),
    "{oops",
  ].join("\n");
  for (const type of ["application/json", "", "application/jsonl"]) {
    const result = decode(body, type, ctx);
    assert.deepEqual(samplesOf(result), [["a", NOW, 1], ["b", NOW, 2]], type);
    assert.deepEqual(result.rejectedSeries.map((r) => r.index), [2], type);
  }
});

Deno.test("native: pretty-printed JSON spanning lines is one JSON body", () => {
  const body = JSON.stringify([{ metric: "a", timestamps: [NOW], values: [1] }], null, 2);
  const result = decode(body, "application/json", ctx);
  assert.deepEqual(samplesOf(result), [["a", NOW, 1]]);
});

Deno.test("native: a malformed or empty JSON body is a validation error", () => {
  const cases: [string, RegExp][] = [
    ['{"metric":"a",', /^Cannot ingest native samples: the body is not valid JSON \(.+\)$/],
    ['{\n"metric": "a",\n"timestamps": [', /^Cannot ingest native samples: the body is not valid JSON/],
    ["  \n", /^Cannot ingest native samples: the body is empty$/],
    ["42", /^Cannot ingest native samples: the body must be a series object or an array of them$/],
  ];
  for (const [body, message] of cases) {
    assert.throws(
      () => decode(body, "application/json", ctx),
      (e: unknown) => e instanceof ValidationError && message.test(e.message),
      body,
    );
  }
  const empty = decode("", "application/x-ndjson", ctx);
  assert.equal(empty.acceptedSamples, 0);
  assert.deepEqual(empty.rejectedSeries, []);
});

Deno.test("native: a label name sent twice rejects its series in JSON, NDJSON and the cached path", () => {
  const twice = (host: string) =>
    `{"metric":"up","labels":{"env":"a","host":${
      JSON.stringify(host)
    },"env":"b"},"timestamps":[${NOW}],"values":[1]}`;
  const once = line({ metric: "up", labels: { env: "a" }, timestamps: [NOW], values: [2] });
  const reason = 'label "env" is given twice';
  for (
    const [text, type] of [[`[${once},${twice("x")}]`, "application/json"], [
      `${once}\n${twice("x")}`,
      "application/x-ndjson",
    ]]
  ) {
    const result = decode(text, type, ctx);
    assert.deepEqual(samplesOf(result), [["up", NOW, 2]], text);
    assert.deepEqual(result.rejectedSeries, [{ index: 1, metric: "up", reason }], text);
  }
  // An escaped spelling of the same name is the same name; a name repeated in another
  // series' object is not a repetition.
  const escaped = `{"metric":"up","labels":{"env":"a","\\u0065nv":"b"},"timestamps":[${NOW}],"values":[1]}`;
  assert.deepEqual(decode(escaped, "application/x-ndjson", ctx).rejectedSeries, [{
    index: 0,
    metric: "up",
    reason,
  }]);
  assert.deepEqual(decode(`[${once},${once}]`, "application/json", ctx).rejectedSeries, []);
  const metricTwice = `{"metric":"up","metric":"down","timestamps":[${NOW}],"values":[1]}`;
  assert.deepEqual(decode(metricTwice, "application/json", ctx).rejectedSeries, [{
    index: 0,
    metric: "down",
    reason: '"metric" is given twice in the series object',
  }]);
});

Deno.test("native: a series sent on several lines, spelled two ways, is one series of the batch, its samples in order", () => {
  const cached = { ...ctx, seriesCache: new SeriesCache(1024) };
  const body = [
    line({ metric: "up", labels: { a: "1", b: "2" }, timestamps: [NOW - 3], values: [1] }),
    line({ metric: "cpu", timestamps: [NOW - 2], values: [2] }),
    '{"metric":"up","labels":{"b":"2","a":"1"},"timestamps":[' + (NOW - 1) + '],"values":[3]}',
    line({ metric: "up", labels: { a: "1", b: "2" }, timestamps: [NOW], values: [4] }),
    '{"labels":{"a":"1","b":"2"},"metric":"up","timestamps":[' + (NOW + 1) + '],"values":[5]}',
  ].join("\n");
  // The second request finds every spelling in the cache, each noting its own slot.
  for (const c of [ctx, cached, cached]) {
    const { batch } = decodeNative(body, "application/x-ndjson", c);
    assert.deepEqual(batch.series.map((s) => s.metric), ["up", "cpu"]);
    assert.equal(batch.series[0].id.hex, seriesId("acme", "up", { a: "1", b: "2" }).hex);
    assert.deepEqual([...batch.seriesIndex.subarray(0, batch.length)], [0, 1, 0, 0, 0]);
    assert.deepEqual([...batch.values.subarray(0, batch.length)], [1, 2, 3, 4, 5]);
  }
});
