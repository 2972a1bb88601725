/**
 * Series, label names and label values for the Prometheus API: `match[]` selectors
 * (any of them may match; none means every series of the tenant) over the days in
 * [start, end], from the `series` table.
 */
import { LimitExceeded, ValidationError } from "../../domain/errors.ts";
import { isValidLabelName } from "../../domain/label-rules.ts";
import type { AnalyticsStore, QueryParams } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import type { Expr, Matcher } from "./ast.ts";
import { seriesWhere } from "./selector-sql.ts";
import type { Labels } from "./values.ts";

export interface DiscoveryRange {
  readonly start: number;
  readonly end: number;
}

function where(tenant: string, matches: readonly Expr[], range: DiscoveryRange, params: QueryParams): string {
  if (matches.length === 0) {
    return seriesWhere(
      tenant,
      [{ name: "__name__", type: "=~", value: ".+" }],
      range.start,
      range.end,
      params,
    );
  }
  return selectorsOf(matches).map((matchers, i) => {
    const own: QueryParams = {};
    const sql = seriesWhere(tenant, matchers, range.start, range.end, own);
    let renamed = sql;
    for (const [key, value] of Object.entries(own)) {
      if (key === "tenant" || key === "dayFrom" || key === "dayTo") params[key] = value;
      else {
        renamed = renamed.replaceAll(`{${key}:`, `{s${i}_${key}:`);
        params[`s${i}_${key}`] = value;
      }
    }
    return `(${renamed})`;
  }).join(" OR ");
}

/** The matchers of each `match[]` selector, checked to be series selectors. */
function selectorsOf(matches: readonly Expr[]): Matcher[][] {
  return matches.map((expr) => {
    if (expr.type !== "vector") {
      throw new ValidationError(`invalid parameter "match[]": "${expr.type}" is not a series selector`);
    }
    return [...expr.selector.matchers];
  });
}

async function fromCatalog(
  catalog: SeriesCatalog,
  tenant: string,
  matches: readonly Expr[],
  range: DiscoveryRange,
): Promise<Labels[] | undefined> {
  const byId = new Map<string, Labels>();
  for (const matchers of selectorsOf(matches)) {
    const found = await catalog.match(tenant, matchers, range.start, range.end);
    if (found === undefined) return undefined;
    for (const s of found) byId.set(s.id, { __name__: s.metric, ...s.labels });
  }
  return [...byId.values()].sort((a, b) => (a.__name__ < b.__name__ ? -1 : a.__name__ > b.__name__ ? 1 : 0));
}

export async function promSeries(
  store: AnalyticsStore,
  tenant: string,
  matches: readonly Expr[],
  range: DiscoveryRange,
  limit: number,
  catalog?: SeriesCatalog,
): Promise<Labels[]> {
  const listed = catalog && await fromCatalog(catalog, tenant, matches, range);
  if (listed !== undefined) {
    if (listed.length > limit) throw tooMany(limit);
    return listed;
  }
  const params: QueryParams = { cap: limit + 1 };
  const rows = await store.query<{ name: string; set: Labels }>(
    `SELECT any(metric) AS name, any(labels) AS set FROM series WHERE ${
      where(tenant, matches, range, params)
    } GROUP BY series_id ORDER BY name LIMIT {cap:UInt32}`,
    params,
  );
  if (rows.length > limit) throw tooMany(limit);
  return rows.map((r) => ({ __name__: r.name, ...r.set }));
}

function tooMany(limit: number): LimitExceeded {
  return new LimitExceeded(`Cannot list series: more than ${limit} match; narrow match[] or the time range`);
}

export async function promLabelNames(
  store: AnalyticsStore,
  tenant: string,
  matches: readonly Expr[],
  range: DiscoveryRange,
  catalog?: SeriesCatalog,
): Promise<string[]> {
  const names = await catalog?.labelNames(tenant, selectorsOf(matches), range.start, range.end);
  if (names !== undefined) return names;
  const params: QueryParams = {};
  const rows = await store.query<{ name: string }>(
    `SELECT DISTINCT arrayJoin(mapKeys(labels)) AS name FROM series WHERE ${
      where(tenant, matches, range, params)
    } ORDER BY name`,
    params,
  );
  return ["__name__", ...rows.map((r) => r.name)];
}

export async function promLabelValues(
  store: AnalyticsStore,
  tenant: string,
  name: string,
  matches: readonly Expr[],
  range: DiscoveryRange,
  catalog?: SeriesCatalog,
): Promise<string[]> {
  if (name !== "__name__" && !isValidLabelName(name)) {
    throw new ValidationError(`invalid label name: "${name}"`);
  }
  const values = await catalog?.labelValues(tenant, name, selectorsOf(matches), range.start, range.end);
  if (values !== undefined) return values;
  const params: QueryParams = {};
  const condition = where(tenant, matches, range, params);
  if (name === "__name__") {
    const rows = await store.query<{ v: string }>(
      `SELECT DISTINCT metric AS v FROM series WHERE ${condition} ORDER BY v`,
      params,
    );
    return rows.map((r) => r.v);
  }
  if (!isValidLabelName(name)) throw new ValidationError(`invalid label name: "${name}"`);
  params.label = name;
  const rows = await store.query<{ v: string }>(
    `SELECT DISTINCT labels[{label:String}] AS v FROM series
     WHERE (${condition}) AND mapContains(labels, {label:String}) ORDER BY v`,
    params,
  );
  return rows.map((r) => r.v);
}
