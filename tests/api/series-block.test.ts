/**
 * Series rows travel as a Native block with String and Array(String) columns: names and
 * labels must read back from ClickHouse exactly, non-ASCII, long and empty values included.
 */
import assert from "node:assert/strict";
import { makeSeriesId, type SeriesDef } from "../../domain/series.ts";
import { SeriesBlockBuilder, seriesInsert } from "../../projections/series-block.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";

const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

Deno.test("series block: metric, id, day and labels read back exactly", async () => {
  const store = await sharedStore();
  const tenant = uniqueName("series");
  const other = uniqueName("series");
  // Recent days: rows past the series TTL may be dropped at any merge.
  const today = Math.floor(Date.now() / 86_400_000);
  // given series with a non-ASCII value, a value longer than a one-byte length, an empty value and no labels
  const defs: SeriesDef[] = [
    { id: makeSeriesId(1, 2), metric: "cpu_seconds", labels: { host: "h1", city: "Zürich ☃", empty: "" } },
    { id: makeSeriesId(0xffffffff, 0xffffffff), metric: "m".repeat(200), labels: { long: "x".repeat(300) } },
    { id: makeSeriesId(3, 0), metric: "bare", labels: {} },
  ];
  const series = new SeriesBlockBuilder();
  for (const [i, def] of defs.entries()) series.add(i === 2 ? other : tenant, def, today - 2 + i);
  // when the block is inserted
  await store.insertBlock(series.build(), [seriesInsert(series.tenants, `${tenant}:series`)]);
  // then every row reads back as given
  const rows = await store.query<
    { tenant: string; metric: string; id: string; labels: Record<string, string>; day: string }
  >(
    `SELECT tenant, metric, toString(series_id) AS id, labels, toString(day) AS day FROM series
     WHERE tenant IN ({a:String}, {b:String}) ORDER BY day`,
    { a: tenant, b: other },
  );
  assert.deepEqual(rows, [
    {
      tenant,
      metric: "cpu_seconds",
      id: String(2 * 2 ** 32 + 1),
      labels: defs[0].labels,
      day: isoDay(today - 2),
    },
    {
      tenant,
      metric: "m".repeat(200),
      id: "18446744073709551615",
      labels: defs[1].labels,
      day: isoDay(today - 1),
    },
    { tenant: other, metric: "bare", id: "3", labels: {}, day: isoDay(today) },
  ]);
});
