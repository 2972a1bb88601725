/**
 * Cardinality of one tenant's series index: the label names with the most series,
 * and the label values with the most series, over the series seen since `fromDay`.
 * The metrics with the most active series come from ingest's own count (see
 * `domain/limits/active-series.ts`), which is what the limits apply to.
 *
 * @example
 * const stats = await labelCardinality(store, "acme", { fromDay: "2024-01-15", limit: 10 });
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";

export interface LabelCardinality {
  readonly labelNames: { readonly name: string; readonly series: number }[];
  readonly labelValues: { readonly name: string; readonly value: string; readonly series: number }[];
}

export async function labelCardinality(
  store: AnalyticsStore,
  tenant: string,
  options: { readonly fromDay: string; readonly limit: number },
): Promise<LabelCardinality> {
  const params = { tenant, fromDay: options.fromDay, limit: options.limit };
  // One row per series first: the index holds a row per series and day.
  const perSeries = `SELECT series_id, any(labels) AS set FROM series
    WHERE tenant = {tenant:String} AND day >= toDate({fromDay:String}) GROUP BY series_id`;
  const names = await store.query<{ name: string; n: string }>(
    `SELECT arrayJoin(mapKeys(set)) AS name, toString(count()) AS n FROM (${perSeries})
     GROUP BY name ORDER BY count() DESC, name LIMIT {limit:UInt32}`,
    params,
  );
  const values = await store.query<{ name: string; value: string; n: string }>(
    `SELECT pair.1 AS name, pair.2 AS value, toString(count()) AS n FROM (${perSeries})
     ARRAY JOIN arrayZip(mapKeys(set), mapValues(set)) AS pair
     GROUP BY name, value ORDER BY count() DESC, name, value LIMIT {limit:UInt32}`,
    params,
  );
  return {
    labelNames: names.map((r) => ({ name: r.name, series: Number(r.n) })),
    labelValues: values.map((r) => ({ name: r.name, value: r.value, series: Number(r.n) })),
  };
}
