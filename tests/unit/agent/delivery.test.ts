import assert from "node:assert/strict";
import { outcomeOf, retryAfterMs, retryDelayMs } from "../../../domain/agent/delivery.ts";
import { nativeBatch } from "../../../domain/agent/native-batch.ts";
import { parsePrometheusText } from "../../../domain/agent/prometheus-text.ts";

Deno.test("delivery: what each answer means for the batch", () => {
  const table: [number, string][] = [
    [200, "delivered"],
    [202, "delivered"],
    [204, "delivered"],
    [408, "retry"],
    [425, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
    [401, "retry"],
    [403, "retry"],
    [400, "rejected"],
    [404, "rejected"],
    [413, "rejected"],
    [415, "rejected"],
    [422, "rejected"],
  ];
  for (const [status, outcome] of table) assert.equal(outcomeOf(status), outcome, String(status));
});

Deno.test("delivery: backoff doubles up to the cap with full jitter; Retry-After wins", () => {
  const backoff = { baseMs: 500, maxMs: 8000 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => retryDelayMs(a, undefined, () => 0.999999, backoff)), [
    499,
    999,
    1999,
    3999,
    7999,
    7999,
  ]);
  assert.equal(retryDelayMs(3, undefined, () => 0, backoff), 0);
  assert.equal(retryDelayMs(0, 3000, () => 0.5, backoff), 3000);
  assert.equal(retryDelayMs(0, 60_000, () => 0.5, backoff), 8000);
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(retryAfterMs("7", now), 7000);
  assert.equal(retryAfterMs(new Date(now + 4000).toUTCString(), now), 4000);
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs(null, now), undefined);
});

Deno.test("native batch: one line per series, non-finite values spelled as the format wants", () => {
  const body = nativeBatch([
    { metric: "a", labels: { x: "1" }, value: 1 },
    { metric: "a", labels: { x: "1" }, value: 2, timestamp: 5 },
    { metric: "b", labels: {}, value: NaN },
    { metric: "c", labels: {}, value: -Infinity },
  ], 9);
  assert.deepEqual(body.trimEnd().split("\n").map((l) => JSON.parse(l)), [
    { metric: "a", labels: { x: "1" }, timestamps: [9, 5], values: [1, 2] },
    { metric: "b", labels: {}, timestamps: [9], values: ["NaN"] },
    { metric: "c", labels: {}, timestamps: [9], values: ["-Inf"] },
  ]);
});

Deno.test("prometheus text: labels with escapes, special values, timestamps; bad lines reported", () => {
  const { samples, errors } = parsePrometheusText([
    "# HELP http_requests_total Requests.",
    "# TYPE http_requests_total counter",
    'http_requests_total{method="post",path="/a \\"b\\"\\n\\\\"} 1027 1395066363000',
    'go_gc_duration_seconds{quantile="0.5"} NaN',
    "up +Inf",
    "broken{x=1} 2",
    "weird 12abc",
  ].join("\n"));
  assert.deepEqual(samples, [
    {
      metric: "http_requests_total",
      labels: { method: "post", path: '/a "b"\n\\' },
      value: 1027,
      timestamp: 1395066363000,
    },
    { metric: "go_gc_duration_seconds", labels: { quantile: "0.5" }, value: NaN },
    { metric: "up", labels: {}, value: Infinity },
  ]);
  assert.deepEqual(errors, ["line 6: label x has no quoted value", 'line 7: value "12abc" is not a number']);
});
