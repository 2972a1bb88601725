/**
 * How a samples or rollup statement names the series it reads and the group each one
 * belongs to. A selection whose ids are all at hand names them: an id set bound as a
 * parameter, which ClickHouse turns into one primary-key range per series, and a
 * `transform` from id to group index over the same array. The in-process series index
 * hands every id over; the `series` table, up to `WIDE_SERIES`. Past that, reading every
 * id out of the engine costs more than the statement itself, so a wide selection the
 * table answers keeps the label filter inside the statement: a semi-join on the `series`
 * table for the filter, and the id → group map built by the engine from the same rows.
 *
 * @example
 * const scope = matched.ids.length < matched.total
 *   ? filteredScope({ tenant, matchers, from, to, by, params })
 *   : namedScope(matched, by, params);
 * const sql = `${withClause(scope.with)}SELECT ${scope.group("r.series_id")} AS gi, ${scope.label("gi")} AS g, …
 *   FROM samples AS r WHERE ${scope.filter("r.series_id")} … GROUP BY gi, …`;
 * const labels = scope.groups[scope.resolve(row.g)];
 */
import type { QueryParams } from "../../domain/ports/analytics-store.ts";
import type { Matcher } from "./ast.ts";
import { bindIds, groupIndex, Grouping, type MatchedSeries } from "./matched-series.ts";
import { seriesWhere } from "./selector-sql.ts";

/** Series a lookup in the `series` table reads out; a selection past this pushes its filter down. */
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
  /**
   * Items of the statement's leading `WITH` (see `withClause`): the id set and group map
   * as constants declared once, which every part and subquery of the statement reads by
   * name, where each spelled-out copy would cost its own evaluation.
   */
  readonly with: readonly string[];
  /** A condition on the series id column. */
  filter(column: string): string;
  /** The expression of a series' group number, to group by. */
  group(column: string): string;
  /** What a row carries out for its group number: the number itself, or the group's label values. */
  label(group: string): string;
  /** Each matched series' group index, in the order of the matched ids, when the scope names them. */
  readonly groupOf?: readonly number[];
  /** Labels of each group met so far, indexed by `resolve`. */
  readonly groups: readonly Record<string, string>[];
  /** The index in `groups` of a row's group value. */
  resolve(g: unknown): number;
}

/** The named scope: every matched id, and its group, bound as parameters of the statement. */
export function namedScope(
  matched: MatchedSeries,
  by: readonly string[] | undefined,
  params: QueryParams,
): SeriesScope {
  const { groups, groupOf } = groupIndex(matched, by);
  const ids = bindIds(matched, params);
  params.series_groups = `[${groupOf.join(",")}]`;
  return {
    with: [`${ids} AS scope_ids`, "JSONExtract({series_groups:String}, 'Array(UInt32)') AS scope_groups"],
    filter: (column) => `has(scope_ids, ${column})`,
    group: (column) => `transform(${column}, scope_ids, scope_groups, 0)`,
    label: (group) => group,
    groupOf,
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
    with: [`${groups} AS scope_map`],
    filter: (column) => `${column} IN (SELECT series_id FROM series WHERE ${where})`,
    group: (column) => `transform(${column}, scope_map.1, scope_map.2, 0)`,
    label: (group) => `scope_map.3[${group}]`,
    groups: grouping.groups,
    resolve: (g) => grouping.indexOf(JSON.parse(String(g))),
  };
}

/** A statement's leading `WITH` of these items, or nothing without any. */
export function withClause(items: readonly string[]): string {
  return items.length === 0 ? "" : `WITH ${items.join(",\n  ")}\n`;
}
