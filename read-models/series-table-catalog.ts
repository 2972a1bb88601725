/**
 * The series catalog of record: the `series` table (one row per series and day seen),
 * asked with one statement per question. It answers every matcher ClickHouse can run,
 * and is what the in-process index is loaded from and checked against.
 *
 * @example
 * const catalog = seriesTableCatalog(store);
 * await catalog.match("acme", [{ name: "__name__", type: "=", value: "up" }], from, to);
 */
import type { AnalyticsStore, QueryParams } from "../domain/ports/analytics-store.ts";
import type { CatalogMatcher, CatalogSeries, SeriesCatalog } from "../domain/ports/series-catalog.ts";
import type { Expr } from "./promql/ast.ts";
import { promLabelNames, promLabelValues } from "./promql/discovery.ts";
import { seriesWhere } from "./promql/selector-sql.ts";

const DAY_MS = 86_400_000;

function selectorsOf(selectors: readonly (readonly CatalogMatcher[])[]): Expr[] {
  return selectors.map((matchers) => ({ type: "vector", selector: { matchers, offsetMs: 0 } }));
}

export function seriesTableCatalog(store: AnalyticsStore): SeriesCatalog {
  return {
    async add(tenant, series, day) {
      // The raw projection writes this table in blocks; this path serves single series.
      for (const s of series) {
        await store.command(
          `INSERT INTO series (tenant, metric, series_id, labels, day)
           SELECT {tenant:String}, {metric:String}, toUInt64({id:String}),
             mapFromArrays({names:Array(String)}, {values:Array(String)}), toDate({day:UInt32})`,
          {
            tenant,
            metric: s.metric,
            id: s.id,
            names: Object.keys(s.labels),
            values: Object.values(s.labels),
            day,
          },
        );
      }
    },
    async match(tenant, matchers, from, to) {
      const params: QueryParams = {};
      // Aliases other than the column names: ClickHouse would read the filters as the aggregates.
      const rows = await store.query<{ id: string; name: string; set: Record<string, string> }>(
        `SELECT toString(series_id) AS id, any(metric) AS name, any(labels) AS set FROM series
         WHERE ${seriesWhere(tenant, matchers, from, to, params)} GROUP BY series_id`,
        params,
      );
      return rows.map((r) => ({ id: r.id, metric: r.name, labels: r.set }));
    },
    labelNames: (tenant, selectors, from, to) =>
      promLabelNames(store, tenant, selectorsOf(selectors), { start: from, end: to }),
    labelValues: (tenant, name, selectors, from, to) =>
      promLabelValues(store, tenant, name, selectorsOf(selectors), { start: from, end: to }),
  };
}

/**
 * Fills `index` from the `series` table, one row per series with the days it was seen;
 * with `sinceDay`, only series seen on that day or later (a refresh).
 */
export async function loadSeriesCatalog(
  store: AnalyticsStore,
  index: SeriesCatalog,
  sinceDay = 0,
): Promise<number> {
  const rows = await store.query<CatalogSeries & { tenant: string; days: number[] }>(
    `SELECT tenant, toString(series_id) AS id, any(metric) AS metric, any(labels) AS labels,
       arraySort(groupUniqArray(toUInt32(day))) AS days
     FROM series WHERE day >= toDate(toDateTime({since:Int64}, 'UTC')) GROUP BY tenant, series_id`,
    { since: Math.floor((sinceDay * DAY_MS) / 1000) },
  );
  for (const row of rows) {
    const s = { id: row.id, metric: row.metric, labels: row.labels };
    for (const day of row.days) await index.add(row.tenant, [s], Number(day));
  }
  return rows.length;
}
