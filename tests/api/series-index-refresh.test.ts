/**
 * A query node without the raw role keeps its series index current from the `series`
 * table: a series written by another process's projection appears after a refresh,
 * and one already held is not duplicated by the next.
 */
import assert from "node:assert/strict";
import { openSeriesIndex } from "../../adapters/series-index-refresh.ts";
import { seriesTableCatalog } from "../../read-models/series-table-catalog.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";
import { waitFor } from "../support/wait-for.ts";

const DAY_MS = 86_400_000;

Deno.test("series index refresh: a series written to the table elsewhere appears, once", async () => {
  const store = await sharedStore();
  const tenant = uniqueName("refresh");
  const today = Math.floor(Date.now() / DAY_MS);
  const table = seriesTableCatalog(store);
  await table.add(tenant, [{ id: "7001", metric: "up", labels: { job: "api" } }], today);
  const opened = await openSeriesIndex(store, { fedInProcess: false, refreshMs: 100 });
  try {
    const up = () =>
      opened.index.match(tenant, [{ name: "__name__", type: "=", value: "up" }], Date.now(), Date.now());
    assert.deepEqual((await up())?.map((s) => s.id), ["7001"], "loaded at start");
    await table.add(tenant, [{ id: "7002", metric: "up", labels: { job: "web" } }], today);
    const found = await waitFor(
      async () => {
        const now = await up();
        return now?.length === 2 ? now : undefined;
      },
      30_000,
      { what: "the refreshed series" },
    );
    assert.deepEqual(found?.map((s) => s.id).sort(), ["7001", "7002"]);
    assert.equal(opened.index.size(tenant), 2);
  } finally {
    opened.close();
  }
});

Deno.test("series index: loads only the days it holds, and earlier ranges go to the table", async () => {
  const store = await sharedStore();
  const tenant = uniqueName("horizon");
  const today = Math.floor(Date.now() / DAY_MS);
  const table = seriesTableCatalog(store);
  await table.add(tenant, [{ id: "7101", metric: "up", labels: { job: "old" } }], today - 40);
  await table.add(tenant, [{ id: "7102", metric: "up", labels: { job: "new" } }], today);
  const opened = await openSeriesIndex(store, { fedInProcess: true, refreshMs: 60_000, days: 35 });
  try {
    assert.equal(opened.index.size(tenant), 1);
    const up = (from: number) =>
      opened.index.match(tenant, [{ name: "__name__", type: "=", value: "up" }], from, Date.now());
    assert.deepEqual((await up(Date.now() - 30 * DAY_MS))?.map((s) => s.id), ["7102"]);
    assert.equal(await up(Date.now() - 40 * DAY_MS), undefined);
  } finally {
    opened.close();
  }
});
