import assert from "node:assert/strict";
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeRemoteWriteV1 } from "../../commands/ingest/remote-write-v1.ts";
import { decodeRemoteWriteV2 } from "../../commands/ingest/remote-write-v2.ts";
import type { RemoteWriteResult } from "../../commands/ingest/remote-write-series.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { seriesId } from "../../domain/series.ts";
import { decodeAllPaths, decodeContext, observed } from "../support/decode-paths.ts";
import {
  decodeRequestV2,
  decodeWriteRequestV1,
  encodeRequestV2,
  encodeWriteRequestV1,
  series,
  type TimeSeriesV1,
  toRequestV2,
} from "../support/remote-write-proto.ts";
import { seededRandom } from "../support/seeded-random.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx: DecodeContext = decodeContext(NOW);

const v1 = (bytes: Uint8Array, c = ctx) => decodeAllPaths(c, (x) => decodeRemoteWriteV1(bytes, x));
const v2 = (bytes: Uint8Array, c = ctx) => decodeAllPaths(c, (x) => decodeRemoteWriteV2(bytes, x));
const extras = (r: RemoteWriteResult) => ({ histograms: r.histogramsSent, exemplars: r.exemplarsSent });

/** Random series with unicode, long and empty label values, and lengths past one varint byte. */
function randomSeries(seed: number, count: number): TimeSeriesV1[] {
  const random = seededRandom(seed);
  const values = ["a", "", "größe", "日本語のラベル", "x".repeat(40), "y".repeat(200), "10.0.0.1:9100"];
  return Array.from({ length: count }, (_, s) => {
    const labels: Record<string, string> = {};
    for (let l = random.int(0, 6); l > 0; l--) {
      labels[`label_${random.int(0, 9)}`] = values[random.int(0, values.length - 1)] + s;
    }
    const samples: [number, number][] = [];
    for (let p = random.int(1, 5); p > 0; p--) {
      samples.push([NOW - random.int(0, 3_600_000), (random.int(-1e6, 1e6) / 7) * 10 ** random.int(-3, 3)]);
    }
    return series(`metric_${random.int(0, 20)}`, labels, samples);
  });
}

/** What protobufjs says the body holds, as the decoder must store it: each series once. */
function expectedFromLibrary(timeseries: TimeSeriesV1[]) {
  const samples: [string, string, string][] = [];
  const defs = new Map<string, { id: string; metric: string; labels: Record<string, string> }>();
  for (const ts of timeseries) {
    const labels: Record<string, string> = {};
    let metric = "";
    for (const { name, value } of ts.labels) {
      if (name === "__name__") metric = value;
      else if (value !== "") labels[name] = value;
    }
    const id = seriesId("acme", metric, labels).hex;
    if (!defs.has(id)) defs.set(id, { id, metric, labels });
    for (const s of ts.samples ?? []) samples.push([id, String(s.timestamp), String(s.value)]);
  }
  return { defs: [...defs.values()], samples };
}

Deno.test("remote write 1.0 and 2.0: random bodies decode as protobufjs decodes them", () => {
  for (const seed of [1, 2, 3]) {
    const sent = randomSeries(seed, 300);
    const bytesV1 = encodeWriteRequestV1({ timeseries: sent });
    const bytesV2 = encodeRequestV2(toRequestV2(sent));
    for (
      const [version, result, library] of [
        ["1.0", v1(bytesV1), decodeWriteRequestV1(bytesV1).timeseries],
        ["2.0", v2(bytesV2), v2Library(bytesV2)],
      ] as const
    ) {
      const expected = expectedFromLibrary(library);
      const got = observed(result);
      assert.deepEqual(got.rejectedSeries, [], `${version} seed ${seed}`);
      assert.deepEqual(got.series, expected.defs, `${version} seed ${seed}: series`);
      assert.deepEqual(got.samples, expected.samples, `${version} seed ${seed}: samples`);
    }
  }
});

/** protobufjs' view of a v2 body, with the label references resolved. */
function v2Library(bytes: Uint8Array): TimeSeriesV1[] {
  const request = decodeRequestV2(bytes);
  return request.timeseries.map((ts) => {
    const labels = [];
    for (let i = 0; i < ts.labels_refs.length; i += 2) {
      labels.push({
        name: request.symbols[ts.labels_refs[i]],
        value: request.symbols[ts.labels_refs[i + 1]],
      });
    }
    return { labels, samples: ts.samples };
  });
}

Deno.test("remote write: __name__ is the metric, empty label values are absent, both versions agree", () => {
  const sent = [series("node_cpu_seconds_total", { cpu: "0", mode: "idle", zone: "" }, [[NOW - 1000, 12.5]])];
  const a = v1(encodeWriteRequestV1({ timeseries: sent }));
  const b = v2(encodeRequestV2(toRequestV2(sent)));
  assert.equal(a.batch.series[0].metric, "node_cpu_seconds_total");
  assert.deepEqual(a.batch.series[0].labels, { cpu: "0", mode: "idle" });
  assert.equal(
    a.batch.series[0].id.hex,
    seriesId("acme", "node_cpu_seconds_total", { cpu: "0", mode: "idle" }).hex,
  );
  assert.deepEqual(observed(a), observed(b));
});

Deno.test("remote write: NaN, the stale marker and ±Inf are stored bit for bit", () => {
  // protobufjs writes every NaN as the canonical one, so the stale marker's bytes
  // (0x7ff0000000000002, a signalling NaN) are patched into the body over a placeholder.
  const PLACEHOLDER = 1234.5;
  const sent = [
    series("up", { job: "a" }, [[NOW - 3000, PLACEHOLDER], [NOW - 2000, NaN], [NOW - 1000, Infinity], [
      NOW,
      -Infinity,
    ]]),
  ];
  for (
    const [bytes, decode] of [[encodeWriteRequestV1({ timeseries: sent }), v1], [
      encodeRequestV2(toRequestV2(sent)),
      v2,
    ]] as const
  ) {
    const placeholder = new Uint8Array(new Float64Array([PLACEHOLDER]).buffer);
    const at = indexOfBytes(bytes, placeholder);
    bytes.set(new Uint8Array(new BigUint64Array([0x7ff0000000000002n]).buffer), at);
    const result = decode(bytes);
    const bits = new BigUint64Array(result.batch.values.buffer, 0, result.batch.length);
    assert.deepEqual([...bits].map((b) => b.toString(16)), [
      "7ff0000000000002",
      "7ff8000000000000",
      "7ff0000000000000",
      "fff0000000000000",
    ]);
  }
});

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("placeholder not found in the encoded body");
}

Deno.test("remote write: invalid series are rejected with a reason, the valid ones kept", () => {
  const sent = [
    series("ok_metric", { job: "a" }, [[NOW, 1]]),
    { labels: [{ name: "job", value: "no-name" }], samples: [{ timestamp: NOW, value: 1 }] },
    {
      labels: [{ name: "__name__", value: "dup" }, { name: "a", value: "1" }, { name: "a", value: "2" }],
      samples: [{ timestamp: NOW, value: 1 }],
    },
    series("bad_label", { "1x": "v" }, [[NOW, 1]]),
    series("long_value", { big: "v".repeat(1024 * 1024) }, [[NOW, 1]]),
    series("many_labels", Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, "v"])), [[
      NOW,
      1,
    ]]),
    series("old_and_future", { job: "a" }, [[NOW - 8 * 86_400_000, 1], [NOW + 10 * 365 * 86_400_000, 2]]),
    series("ok_metric", { job: "b" }, [[NOW - 1, 2]]),
  ];
  for (
    const result of [v1(encodeWriteRequestV1({ timeseries: sent })), v2(encodeRequestV2(toRequestV2(sent)))]
  ) {
    assert.deepEqual(result.batch.series.map((s) => s.labels), [{ job: "a" }, { job: "b" }]);
    assert.equal(result.acceptedSamples, 2);
    const reasons = result.rejectedSeries.map((r) => [r.index, r.reason]);
    assert.deepEqual(reasons, [
      [1, 'series has no metric name (label "__name__")'],
      [2, 'label "a" is given twice'],
      [3, 'label name "1x" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'],
      [4, 'label "big" has a value 1048576 characters long, over the limit of 2048'],
      [5, "series has 100 labels, over the limit of 30"],
      [
        6,
        "all 2 samples are outside the accepted time window: 1 older than the raw retention of 7d, 1 more than 10m in the future",
      ],
    ]);
    assert.deepEqual(result.rejectedSamples, { invalid_series: 5, too_old: 1, too_far_in_future: 1 });
  }
});

Deno.test("remote write: native histograms and exemplars are counted, not stored", () => {
  const sent: TimeSeriesV1[] = [
    {
      ...series("with_exemplar", {}, [[NOW, 1]]),
      exemplars: [{ labels: [{ name: "trace_id", value: "abc" }], value: 1, timestamp: NOW }],
    },
    {
      labels: [{ name: "__name__", value: "native_hist" }],
      histograms: [{ count_int: 3, sum: 1.5, schema: 3, timestamp: NOW }],
    },
  ];
  const a = v1(encodeWriteRequestV1({ timeseries: sent }));
  assert.deepEqual(extras(a), { histograms: 1, exemplars: 1 });
  assert.equal(a.acceptedSamples, 1);
  assert.deepEqual(a.rejectedSeries, [{
    index: 1,
    reason: "series has only native histogram samples (1), which are not stored",
  }]);
  const b = v2(encodeRequestV2({ ...toRequestV2(sent.slice(1)) }));
  assert.deepEqual(extras(b), { histograms: 1, exemplars: 0 });
  assert.equal(b.acceptedSamples, 0);
});

Deno.test("remote write: a body cut short keeps every series before the cut", () => {
  const sent = randomSeries(7, 20);
  for (
    const [name, bytes, decode] of [
      ["1.0", encodeWriteRequestV1({ timeseries: sent }), v1],
      ["2.0", encodeRequestV2(toRequestV2(sent)), v2],
    ] as const
  ) {
    const whole = decode(bytes);
    const cut = decode(bytes.subarray(0, bytes.length - 5));
    assert.equal(cut.batch.series.length, whole.batch.series.length - 1, name);
    assert.deepEqual(
      cut.batch.series.map((s) => s.id.hex),
      whole.batch.series.slice(0, -1).map((s) => s.id.hex),
    );
    assert.equal(cut.rejectedSeries.length, 1, name);
    assert.equal(cut.rejectedSeries[0].index, 19, name);
    assert.match(
      cut.rejectedSeries[0].reason,
      /^malformed protobuf: field of \d+ bytes at byte \d+ overruns/,
    );
  }
});

Deno.test("remote write 2.0: label references outside the symbol table or unpaired reject the series", () => {
  const body = encodeRequestV2({
    symbols: ["", "__name__", "up", "job", "a"],
    timeseries: [
      { labels_refs: [1, 2, 3, 4], samples: [{ value: 1, timestamp: NOW }] },
      { labels_refs: [1, 2, 3, 9], samples: [{ value: 1, timestamp: NOW }] },
      { labels_refs: [1, 2, 3], samples: [{ value: 1, timestamp: NOW }] },
    ],
  });
  const result = v2(body);
  assert.equal(result.acceptedSamples, 1);
  assert.deepEqual(result.rejectedSeries.map((r) => r.reason), [
    "label reference 9 is outside the symbol table of 5 entries",
    "labels_refs has 3 entries; it must hold name and value pairs",
  ]);
});

Deno.test("remote write: garbage bytes are a rejection, never a crash", () => {
  const random = seededRandom(99);
  for (let i = 0; i < 200; i++) {
    const garbage = Uint8Array.from({ length: random.int(1, 300) }, () => random.int(0, 255));
    for (const decode of [decodeRemoteWriteV1, decodeRemoteWriteV2]) {
      // Whatever the bytes, the answer is a decode result: a thrown error would be a 500.
      const result = assertDecodes(() => decode(garbage, ctx));
      assert.equal(result.acceptedSamples, result.batch.length);
      for (const r of result.rejectedSeries) assert.ok(r.reason.length > 0);
    }
  }
});

function assertDecodes(decode: () => RemoteWriteResult): RemoteWriteResult {
  try {
    return decode();
  } catch (error) {
    assert.fail(`decoding garbage threw ${error}`);
  }
}

Deno.test("remote write: a body that differs from the cached order by one byte still resolves each series anew", () => {
  // The cache predicts each series from the order of the body before; a prediction
  // must not pass for a series whose label value differs in its last byte or in length.
  const body = (hosts: string[]) => hosts.map((host, i) => series(`up`, { host, job: `j${i}` }, [[NOW, i]]));
  const first = body(["web-1", "web-2", "web-3"]);
  const variants = [
    body(["web-1", "web-4", "web-3"]),
    body(["web-1", "web-22", "web-3"]),
    body(["web-1", "web-3", "web-2"]),
  ];
  for (
    const [name, encode, decode] of [
      ["1.0", (s: TimeSeriesV1[]) => encodeWriteRequestV1({ timeseries: s }), decodeRemoteWriteV1],
      ["2.0", (s: TimeSeriesV1[]) => encodeRequestV2(toRequestV2(s)), decodeRemoteWriteV2],
    ] as const
  ) {
    for (const variant of variants) {
      const cached = { ...ctx, seriesCache: new SeriesCache(1024) };
      decode(encode(first), cached);
      decode(encode(first), cached);
      const expected = observed(decode(encode(variant), { ...ctx, seriesCache: undefined }));
      assert.equal(expected.samples.length, 3);
      assert.deepEqual(observed(decode(encode(variant), cached)), expected, name);
    }
  }
});
