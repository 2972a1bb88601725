import assert from "node:assert/strict";
import { makeSeriesId, type SeriesDef } from "../../domain/series.ts";
import { SeenSeries } from "../../projections/seen-series.ts";
import { seriesWords } from "../../domain/sample-batch.ts";

const def = (n: number): SeriesDef => ({ id: makeSeriesId(n, n * 7), metric: "m", labels: {} });
const days = (...d: number[]) => Float64Array.from(d);
const words = (series: SeriesDef[]) => seriesWords({ tenant: "t", series, ...NO_SAMPLES });
const NO_SAMPLES = {
  seriesIndex: new Uint32Array(),
  timestamps: new Float64Array(),
  values: new Float64Array(),
  length: 0,
};

Deno.test("seen series: a series is new once per tenant and day, whatever tables it comes in", () => {
  const seen = new SeenSeries(1000);
  const table = [def(1), def(2), def(3)];
  // step table: [tenant, series, newest day per series] → indexes reported new
  const steps: [string, SeriesDef[], Float64Array, number[]][] = [
    ["a", table, days(10, 10, 10), [0, 1, 2]],
    ["a", table, days(10, 10, 10), []], // the same table again
    ["a", table, days(10, 11, 10), [1]], // one series on a newer day
    ["a", table, days(9, 11, -1), []], // older days, and a series without samples
    ["a", [def(3), def(1), def(2)], days(10, 10, 12), [2]], // another order: looked up per series
    ["b", table, days(10, 10, 10), [0, 1, 2]], // the same ids for another tenant
    ["a", [def(1), def(4)], days(-1, 10), [1]],
    ["a", [def(1), def(4)], days(12, 10), [0]], // not remembered whole: it had a series without samples
  ];
  steps.forEach(([tenant, series, lastDay, want], i) => {
    assert.deepEqual(seen.newer(tenant, words(series), lastDay), want, `step ${i}`);
  });
});

Deno.test("seen series: past the limit the oldest are forgotten and reported again", () => {
  const seen = new SeenSeries(2);
  for (const n of [1, 2, 3]) assert.deepEqual(seen.newer("a", words([def(n)]), days(5)), [0]);
  assert.deepEqual(seen.newer("a", words([def(3)]), days(5)), [], "the newest is remembered");
  assert.deepEqual(seen.newer("a", words([def(1), def(3)]), days(5, 5)), [0], "the oldest was evicted");
});
