/**
 * How a samples or rollup statement names the series it reads and the group each one
 * belongs to. A narrow selection (up to `WIDE_SERIES` series) names them: a literal id
 * list, which ClickHouse turns into one primary-key range per series, and a `transform`
 * from id to group index. Past that, reading every id out of the engine and writing it
 * back twice costs more than the statement itself (a count over 100k series spent 2–3
 * CPU-s on its lists), so a wide selection keeps the label filter inside the statement:
 * a semi-join on the `series` table for the filter, and the id → group map built by the
 * engine from the same rows.
 *
 * @example
 * const scope = matched.total > WIDE_SERIES
 *   ? filteredScope({ tenant, matchers, from, to, by, params })
 *   : namedScope(matched, by);
 * const sql = `SELECT ${scope.group("r.series_id")} AS gi, ${scope.label("gi")} AS g, …
 *   FROM samples AS r WHERE ${scope.filter("r.series_id")} … GROUP BY gi, …`;
 * const labels = scope.groups[scope.resolve(row.g)];
 */
import type { QueryParams } from "../../domain/ports/analytics-store.ts";
import type { Matcher } from "./ast.ts";
import { groupIndex, Grouping, idList, type MatchedSeries } from "./matched-series.ts";
import { seriesWhere } from "./selector-sql.ts";

/** Series a statement names one by one; a selection past this pushes its filter down. */
export const WIDE_SERIES = 4_096;

/** The matchers and range a wide selection re-applies inside the statement. */
export interface WideSelection {
  readonly tenant: string;
  readonly matchers: readonly Matcher[];
  readonly from: number;
  readonly to: number;
  readonly by: readonly string[];
  /** The statement's parameters; the selection adds its own (`tenant`, `dayFrom`, `dayTo`, `m*`, `wb*`). */
  readonly params: QueryParams;
}

export interface SeriesScope {
  /** A condition on the series id column. */
  filter(column: string): string;
  /** The expression of a series' group number, to group by. */
  group(column: string): string;
  /** What a row carries out for its group number: the number itself, or the group's label values. */
  label(group: string): string;
  /** Labels of each group met so far, indexed by `resolve`. */
  readonly groups: readonly Record<string, string>[];
  /** The index in `groups` of a row's group value. */
  resolve(g: unknown): number;
}

/** The narrow scope: the matched ids named in the statement. */
export function namedScope(matched: MatchedSeries, by: readonly string[] | undefined): SeriesScope {
  const { groups, groupOf } = groupIndex(matched, by);
  const ids = idList(matched);
  return {
    filter: (column) => `${column} IN (${ids})`,
    group: (column) => `transform(${column}, [${ids}], [${groupOf.join(",")}], 0)`,
    label: (group) => group,
    groups,
    resolve: (g) => Number(g),
  };
}

/**
 * The wide scope: the selection's filter as a semi-join, and the map from id to group
 * built inside the engine by one scalar subquery over the same `series` rows (ids, each
 * one's dense group number, the groups' label values as JSON), which `transform` reads
 * as constant arrays as it does the narrow scope's literals.
 */
export function filteredScope(selection: WideSelection): SeriesScope {
  const { params, by } = selection;
  const where = seriesWhere(selection.tenant, selection.matchers, selection.from, selection.to, params);
  const values = by.map((name, i) => {
    if (name === "__name__") return "any(metric)";
    params[`wb${i}`] = name;
    return `any(labels[{wb${i}:String}])`;
  });
  const key = `toJSONString(${values.length === 0 ? "emptyArrayString()" : `[${values.join(", ")}]`})`;
  const groups = `(SELECT tuple(ids, arrayEnumerateDense(keys), arrayDistinct(keys))
    FROM (SELECT groupArray(id) AS ids, groupArray(k) AS keys
          FROM (SELECT series_id AS id, ${key} AS k FROM series WHERE ${where} GROUP BY series_id)))`;
  const grouping = new Grouping(by);
  return {
    filter: (column) => `${column} IN (SELECT series_id FROM series WHERE ${where})`,
    group: (column) => `transform(${column}, ${groups}.1, ${groups}.2, 0)`,
    label: (group) => `${groups}.3[${group}]`,
    groups: grouping.groups,
    resolve: (g) => grouping.indexOf(JSON.parse(String(g))),
  };
}
