/**
 * How a samples or rollup statement names the series it reads and the group each one
 * belongs to. A narrow selection (up to `WIDE_SERIES` series) names them: a literal id
 * list, which ClickHouse turns into one primary-key range per series, and a `transform`
 * from id to group index. Past that, reading every id out of the engine and writing it
 * back twice costs more than the statement itself (a count over 100k series spent 2–3
 * CPU-s on its lists), so a wide selection keeps the label filter inside the statement:
 * a semi-join on the `series` table for the filter and a join on the same rows for each
 * series' group values.
 *
 * @example
 * const scope = seriesScope(matched, groupIndex(matched, by), wide);
 * const sql = `SELECT ${scope.group("r.series_id")} AS g … FROM samples AS r ${scope.join("r.series_id")}
 *   WHERE ${scope.filter("r.series_id")} …`;
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
  /** A `JOIN` clause to put after the table the id column belongs to, or nothing. */
  join(column: string): string;
  /** The expression of a series' group: a group index, or the group's label values. */
  group(column: string): string;
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
    join: () => "",
    group: (column) => `transform(${column}, [${ids}], [${groupOf.join(",")}], 0)`,
    groups,
    resolve: (g) => Number(g),
  };
}

/** The wide scope: the selection's filter and group values joined from the `series` table. */
export function filteredScope(selection: WideSelection): SeriesScope {
  const { params, by } = selection;
  const where = seriesWhere(selection.tenant, selection.matchers, selection.from, selection.to, params);
  const values = by.map((name, i) => {
    if (name === "__name__") return "any(metric)";
    params[`wb${i}`] = name;
    return `any(labels[{wb${i}:String}])`;
  });
  const list = values.length === 0 ? "emptyArrayString()" : `[${values.join(", ")}]`;
  const grouping = new Grouping(by);
  return {
    filter: (column) => `${column} IN (SELECT series_id FROM series WHERE ${where})`,
    join: (column) =>
      `INNER JOIN (SELECT series_id, ${list} AS wide_group FROM series WHERE ${where} GROUP BY series_id)
       AS wide ON ${column} = wide.series_id`,
    group: () => "wide.wide_group",
    groups: grouping.groups,
    resolve: (g) => grouping.indexOf(g as string[]),
  };
}
