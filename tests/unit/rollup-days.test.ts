import assert from "node:assert/strict";
import { initialWatermark, type WatermarkState } from "../../domain/watermark.ts";
import { closedThrough, DAY_MS, HOUR_MS, unpackedPoints } from "../../read-models/rollup-days.ts";

const at = (watermark: number): WatermarkState => ({
  ...initialWatermark(),
  maxEventTime: watermark + 300_000,
  watermark,
  lastSeenAt: watermark,
});
const day = (n: number) => n * DAY_MS;

Deno.test("closedThrough: the hour the slowest partition's watermark falls in, per tenant", () => {
  const states = [
    new Map([["a", at(day(10) + 5)], ["b", at(day(3) + 7 * HOUR_MS + 59_999)]]),
    new Map([["a", at(day(12))], ["b", at(day(4) - 1)]]),
  ];
  assert.deepEqual(closedThrough(states, 2), new Map([["a", day(10)], ["b", day(3) + 7 * HOUR_MS]]));
});

Deno.test("closedThrough: a tenant some partition has not seen, or one before any batch, closes nothing", () => {
  const states = [
    new Map([["a", at(day(10))], ["b", at(day(10))], ["c", initialWatermark()]]),
    new Map([["a", at(day(10))], ["c", at(day(10))]]),
  ];
  assert.deepEqual(closedThrough(states, 2), new Map([["a", day(10)]]));
  assert.deepEqual(closedThrough([states[0]], 2), new Map(), "a partition without a journaled batch");
});

Deno.test("unpackedPoints: hours with samples in range, aggregated per group and step bucket, in time order", () => {
  const hours = (values: Record<number, number | string>, empty: number | string) =>
    Array.from({ length: 24 }, (_, h) => values[h] ?? empty);
  const bits = (...set: number[]) => set.reduce((m, h) => m | (1 << h), 0);
  // Day 2, two groups; counts as the JSON output quotes 64-bit integers. Group 0 merges a
  // row whose hours hold different counts (an array) and rows whose hours hold one count
  // each (summed in `uniform`), both over the same hours.
  const withCounts = [
    {
      g: 0,
      day: 2,
      hours: bits(0, 1, 2, 5),
      uniform: "1",
      count: hours({ 0: "1", 1: "0", 2: "2", 5: "0" }, "0"),
      sum: hours({ 0: 4, 1: 5, 2: 6, 5: 1 }, 0),
    },
    { g: 1, day: 2, hours: bits(1), uniform: "4", count: [], sum: hours({ 1: 2 }, 0) },
  ];
  // The same data as sum, min and max read it: which hours have samples, over the group.
  const presence = [
    {
      g: 0,
      day: 2,
      hours: String(bits(0, 1, 2, 5)),
      sum: hours({ 0: 4, 1: 5, 2: 6, 5: 1 }, 0),
      min: hours({ 0: 1, 1: 5, 2: "-inf", 5: 1 }, "inf"),
      max: hours({ 0: 3, 1: 5, 2: 2, 5: 1 }, "-inf"),
    },
    {
      g: 1,
      day: 2,
      hours: bits(1),
      sum: hours({ 1: 2 }, 0),
      min: hours({ 1: 0.5 }, "inf"),
      max: hours({ 1: 0.75 }, "-inf"),
    },
  ];
  const from = day(2);
  const range = { from, before: from + 4 * HOUR_MS, step: 2 * HOUR_MS };
  const points = (agg: Parameters<typeof unpackedPoints>[1]) =>
    unpackedPoints(agg === "avg" || agg === "count" ? withCounts : presence, agg, range)
      .map(({ g, t, v }) => [g, (t - from) / HOUR_MS, v]);
  // Hour 5 is past `before`; group 1 has samples only in hour 1.
  assert.deepEqual(points("avg"), [[0, 0, 9 / 3], [1, 0, 2 / 4], [0, 2, 6 / 3]]);
  assert.deepEqual(points("sum"), [[0, 0, 9], [1, 0, 2], [0, 2, 6]]);
  assert.deepEqual(points("count"), [[0, 0, 3], [1, 0, 4], [0, 2, 3]]);
  assert.deepEqual(points("min"), [[0, 0, 1], [1, 0, 0.5], [0, 2, -Infinity]]);
  assert.deepEqual(points("max"), [[0, 0, 5], [1, 0, 0.75], [0, 2, 2]]);
  assert.deepEqual(
    unpackedPoints(presence, "sum", { ...range, from: from + 2 * HOUR_MS }).map((p) => p.v),
    [6],
    "hours before `from` are left out",
  );
  assert.deepEqual(
    unpackedPoints([{ ...presence[1], hours: 0 }], "sum", range),
    [],
    "an hour whose bit is clear has no samples, whatever its arrays hold",
  );
});
