/**
 * Series discovery for one tenant: the series of a metric (optionally filtered by
 * labels and by the days they were seen), label names and label values.
 */
import { ValidationError } from "../domain/errors.ts";
import { isValidLabelName, isValidMetricName } from "../domain/label-rules.ts";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";

export interface SeriesFilter {
  readonly metric?: string;
  readonly filters?: Readonly<Record<string, string>>;
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
}

export interface SeriesInfo {
  readonly id: string;
  readonly metric: string;
  readonly labels: Record<string, string>;
}

function where(tenant: string, filter: Omit<SeriesFilter, "limit">, params: Record<string, unknown>): string {
  params.tenant = tenant;
  const clauses = ["tenant = {tenant:String}"];
  if (filter.metric !== undefined) {
    if (!isValidMetricName(filter.metric)) {
      throw new ValidationError(`"${filter.metric}" is not a metric name`);
    }
    params.metric = filter.metric;
    clauses.push("metric = {metric:String}");
  }
  Object.entries(filter.filters ?? {}).forEach(([name, value], i) => {
    if (!isValidLabelName(name)) throw new ValidationError(`"${name}" is not a label name`);
    params[`fn${i}`] = name;
    params[`fv${i}`] = value;
    clauses.push(`labels[{fn${i}:String}] = {fv${i}:String}`);
  });
  if (filter.from !== undefined) {
    params.from = Math.floor(filter.from / 1000);
    clauses.push("day >= toDate(toDateTime({from:Int64}, 'UTC'))");
  }
  if (filter.to !== undefined) {
    params.to = Math.floor(filter.to / 1000);
    clauses.push("day <= toDate(toDateTime({to:Int64}, 'UTC'))");
  }
  return clauses.join(" AND ");
}

export async function findSeries(
  store: AnalyticsStore,
  tenant: string,
  filter: SeriesFilter,
): Promise<SeriesInfo[]> {
  const params: Record<string, unknown> = { limit: filter.limit };
  // Aliases differ from column names: ClickHouse resolves an alias before a column, so
  // `any(metric) AS metric` would put an aggregate into WHERE.
  const rows = await store.query<{ id: string; name: string; set: Record<string, string> }>(
    `SELECT toString(series_id) AS id, any(metric) AS name, any(labels) AS set FROM series
     WHERE ${where(tenant, filter, params)} GROUP BY series_id ORDER BY name, id LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map((r) => ({ id: r.id, metric: r.name, labels: r.set }));
}

export async function labelNames(
  store: AnalyticsStore,
  tenant: string,
  filter: Omit<SeriesFilter, "limit">,
): Promise<string[]> {
  const params: Record<string, unknown> = {};
  const rows = await store.query<{ name: string }>(
    `SELECT DISTINCT arrayJoin(mapKeys(labels)) AS name FROM series WHERE ${
      where(tenant, filter, params)
    } ORDER BY name`,
    params,
  );
  return ["__name__", ...rows.map((r) => r.name)];
}

export async function labelValues(
  store: AnalyticsStore,
  tenant: string,
  name: string,
  filter: Omit<SeriesFilter, "limit">,
): Promise<string[]> {
  const params: Record<string, unknown> = {};
  const condition = where(tenant, filter, params);
  if (name === "__name__") {
    const rows = await store.query<{ v: string }>(
      `SELECT DISTINCT metric AS v FROM series WHERE ${condition} ORDER BY v`,
      params,
    );
    return rows.map((r) => r.v);
  }
  if (!isValidLabelName(name)) throw new ValidationError(`"${name}" is not a label name`);
  params.name = name;
  const rows = await store.query<{ v: string }>(
    `SELECT DISTINCT labels[{name:String}] AS v FROM series
     WHERE ${condition} AND mapContains(labels, {name:String}) ORDER BY v`,
    params,
  );
  return rows.map((r) => r.v);
}
