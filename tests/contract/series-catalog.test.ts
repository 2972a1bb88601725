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
