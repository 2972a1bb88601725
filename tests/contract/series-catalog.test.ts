/**
 * The series-catalog contract against the `series` table in chDB, the in-process index,
 * and the index as the query role builds it: loaded from the table.
 */
import assert from "node:assert/strict";
import { SeriesIndex } from "../../read-models/series-index.ts";
import { loadSeriesCatalog, seriesTableCatalog } from "../../read-models/series-table-catalog.ts";
import { sharedStore } from "../support/analytics.ts";
import { seriesCatalogContract } from "./series-catalog.contract.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";

seriesCatalogContract("series table (chDB)", async () => seriesTableCatalog(await sharedStore()));

seriesCatalogContract("in-process index", () => Promise.resolve(new SeriesIndex()));

/** Writes go to the table; every question is asked of an index loaded from it. */
seriesCatalogContract("index loaded from the series table", async () => {
  const store = await sharedStore();
  const table = seriesTableCatalog(store);
  const loaded = async () => {
    const index = new SeriesIndex();
    await loadSeriesCatalog(store, index, 20_000);
    return index;
  };
  const catalog: SeriesCatalog = {
    add: (tenant, series, day) => table.add(tenant, series, day),
    match: async (...args) => (await loaded()).match(...args),
    labelNames: async (...args) => (await loaded()).labelNames(...args),
    labelValues: async (...args) => (await loaded()).labelValues(...args),
  };
  return catalog;
});

Deno.test("in-process index: the RE2-only patterns are handed back, not answered differently", async () => {
  const index = new SeriesIndex();
  await index.add("t", [{ id: "1", metric: "up", labels: { job: "API" } }], 1);
  const ask = (value: string) =>
    index.match(
      "t",
      [{ name: "__name__", type: "=", value: "up" }, { name: "job", type: "=~", value }],
      0,
      2 * 86_400_000,
    );
  assert.equal(await ask("(?i)api"), undefined);
  assert.equal(await ask("[[:upper:]]+"), undefined);
  assert.equal(await ask("\\pL+"), undefined);
  assert.equal(await ask("\\s*API"), undefined);
  assert.deepEqual((await ask("A.I|x"))?.map((s) => s.id), ["1"]);
});

Deno.test("in-process index with a horizon: holds the last days only, and hands earlier ranges back", async () => {
  const DAY = 86_400_000;
  let today = 20_010;
  const index = new SeriesIndex({ days: 3, now: () => today * DAY + 1_000 });
  const up = (id: string, job: string) => ({ id, metric: "up", labels: { job } });
  index.addNow("t", [up("1", "api"), up("2", "web")], 20_008);
  index.addNow("t", [up("2", "web"), up("3", "api")], 20_010);
  index.addNow("t", [up("9", "api")], 20_007); // before the horizon: not held
  index.addNow("u", [up("5", "api")], 20_008);
  assert.equal(index.firstDay(), 20_008);
  assert.equal(index.size("t"), 3);
  const api = (from: number) =>
    index.match(
      "t",
      [{ name: "__name__", type: "=", value: "up" }, { name: "job", type: "=", value: "api" }],
      from,
      today * DAY,
    );
  assert.deepEqual((await api(20_008 * DAY))?.map((s) => s.id).sort(), ["1", "3"]);
  assert.equal(await api(20_007 * DAY), undefined, "a range starting before the horizon goes to the table");
  assert.deepEqual(await index.labelValues("t", "job", [], 20_007 * DAY, today * DAY), undefined);

  today = 20_011; // 20_008 leaves the span: series 1 (and tenant u) go, series 2 keeps its later day
  assert.equal(index.prune(), 2);
  assert.equal(index.size("t"), 2);
  assert.equal(index.size("u"), 0);
  assert.deepEqual((await api(20_009 * DAY))?.map((s) => s.id), ["3"]);
  assert.deepEqual(
    (await index.match("t", [{ name: "job", type: "=", value: "web" }], 20_010 * DAY, today * DAY))?.map((
      s,
    ) => s.id),
    ["2"],
  );
  assert.deepEqual(
    await index.match("t", [{ name: "job", type: "=", value: "web" }], 20_009 * DAY, 20_009 * DAY),
    [],
    "series 2's dropped day is gone with it",
  );
  assert.equal(index.prune(), 0, "nothing more to drop the same day");
});
