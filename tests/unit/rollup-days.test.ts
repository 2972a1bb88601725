import assert from "node:assert/strict";
import { initialWatermark, type WatermarkState } from "../../domain/watermark.ts";
import { closedThrough, DAY_MS } from "../../read-models/rollup-days.ts";

const at = (watermark: number): WatermarkState => ({
  ...initialWatermark(),
  maxEventTime: watermark + 300_000,
  watermark,
  lastSeenAt: watermark,
});
const day = (n: number) => n * DAY_MS;

Deno.test("closedThrough: the day the slowest partition's watermark falls in, per tenant", () => {
  const states = [
    new Map([["a", at(day(10) + 5)], ["b", at(day(3))]]),
    new Map([["a", at(day(12))], ["b", at(day(4) - 1)]]),
  ];
  assert.deepEqual(closedThrough(states, 2), new Map([["a", day(10)], ["b", day(3)]]));
});

Deno.test("closedThrough: a tenant some partition has not seen, or one before any batch, closes nothing", () => {
  const states = [
    new Map([["a", at(day(10))], ["b", at(day(10))], ["c", initialWatermark()]]),
    new Map([["a", at(day(10))], ["c", at(day(10))]]),
  ];
  assert.deepEqual(closedThrough(states, 2), new Map([["a", day(10)]]));
  assert.deepEqual(closedThrough([states[0]], 2), new Map(), "a partition without a journaled batch");
});
