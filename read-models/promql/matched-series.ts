/**
 * The series a selector matches, looked up once per selector in the `series` table
 * (one row per series and day, hence the `GROUP BY`), before any sample is read. The
 * samples statement then names the ids in a set bound as a parameter, which
 * ClickHouse turns into a primary-key range per series of `samples` (ordered by tenant,
 * series_id, ts), instead of evaluating the label filters over the series table a
 * second time and joining the labels back onto every sample.
 *
 * @example
 * const matched = await matchedSeries(store, "acme", matchers, from, to, { cap: 10_001 });
 * const sql = `… WHERE has(${bindIds(matched, params)}, series_id) …`;
 */
import type { AnalyticsStore, QueryParams } from "../../domain/ports/analytics-store.ts";
import type { CatalogSeries, SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import type { Matcher } from "./ast.ts";
import { seriesWhere } from "./selector-sql.ts";

export interface MatchedSeries {
  /** Series ids as decimal text: UInt64 does not fit a JavaScript number. */
  readonly ids: readonly string[];
  readonly names: readonly string[];
  /** Each series' labels, or only the values of `labels` when asked for. */
  readonly sets: readonly Record<string, string>[];
  /** Series the matchers select, also past `cap`: a probe tells a wide selection from a narrow one. */
  readonly total: number;
}

export interface MatchOptions {
  /** At most this many rows come back; callers ask for one over their limit to detect it. */
  readonly cap: number;
  /**
   * At most this many of a catalog's series are kept (default `cap`): its answer is in
   * memory already, so a selection too wide to read out of the table can still be named.
   */
  readonly listCap?: number;
  /** Only these labels of each series (`__name__` is always in `names`). */
  readonly labels?: readonly string[];
  readonly settings?: Record<string, string | number>;
  /** Asked first; the `series` table answers what it hands back. */
  readonly catalog?: SeriesCatalog;
}

interface Row {
  readonly total: number | string;
  readonly id: string;
  readonly name: string;
  readonly set: Record<string, string>;
}

export async function matchedSeries(
  store: AnalyticsStore,
  tenant: string,
  matchers: readonly Matcher[],
  from: number,
  to: number,
  options: MatchOptions,
): Promise<MatchedSeries> {
  const found = await options.catalog?.match(tenant, matchers, from, to);
  if (found !== undefined) return fromCatalog(found, options.listCap ?? options.cap, options.labels);
  const params: QueryParams = { cap: options.cap };
  const where = seriesWhere(tenant, matchers, from, to, params);
  // Only the labels an aggregation groups by: a whole Map per series is most of the bytes.
  const set = options.labels === undefined ? "any(labels)" : `map(${
    options.labels.map((name, i) => {
      params[`l${i}`] = name;
      return `{l${i}:String}, any(labels[{l${i}:String}])`;
    }).join(", ")
  })`;
  const rows = await store.query<Row>(
    // The window counts the grouped rows before LIMIT cuts them.
    `SELECT toString(series_id) AS id, any(metric) AS name, ${set} AS set, count() OVER () AS total FROM series
     WHERE ${where} GROUP BY series_id LIMIT {cap:UInt32}`,
    params,
    options.settings,
  );
  return {
    ids: rows.map((r) => r.id),
    names: rows.map((r) => r.name),
    sets: rows.map((r) => r.set),
    total: rows.length === 0 ? 0 : Number(rows[0].total),
  };
}

function fromCatalog(
  found: readonly CatalogSeries[],
  cap: number,
  only: readonly string[] | undefined,
): MatchedSeries {
  const kept = found.length > cap ? found.slice(0, cap) : found;
  return {
    ids: kept.map((s) => s.id),
    names: kept.map((s) => s.metric),
    sets: only === undefined ? kept.map((s) => s.labels) : kept.map((s) => {
      const set: Record<string, string> = {};
      for (const name of only) set[name] = s.labels[name] ?? "";
      return set;
    }),
    total: found.length,
  };
}

/**
 * Binds the ids as the parameter `series_ids` and returns the expression of their
 * `Array(UInt64)`. The list travels as one JSON string read by `JSONExtract`: a
 * constant array, whether a literal or a parameter of array type, costs the engine
 * 0.5–1 µs per element to analyse, about 5 ms for 10,000 ids each time it appears,
 * where the string costs one vectorised parse. Each id is checked to be digits.
 */
export function bindIds(matched: MatchedSeries, params: QueryParams): string {
  for (const id of matched.ids) {
    if (!/^\d{1,20}$/.test(id)) throw new Error(`series id ${JSON.stringify(id)} is not a UInt64`);
  }
  params.series_ids = `[${matched.ids.join(",")}]`;
  return "JSONExtract({series_ids:String}, 'Array(UInt64)')";
}

/** Indexes of the ids in ascending order of their UInt64 values: decimal ids order by length, then text. */
export function ascendingIds(ids: readonly string[]): number[] {
  return Array.from(ids.keys()).sort((a, b) =>
    ids[a].length - ids[b].length || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0)
  );
}

/**
 * The distinct groups of the matched series by the values of `by` (a missing label is
 * the empty string and is left out of the group's labels, as in PromQL), and each
 * series' group index; without `by`, every series is its own group with all its labels.
 */
export function groupIndex(
  matched: MatchedSeries,
  by: readonly string[] | undefined,
): { groups: Record<string, string>[]; groupOf: number[] } {
  if (by === undefined) {
    return {
      groups: matched.sets.map((set, i) => ({ __name__: matched.names[i], ...set })),
      groupOf: matched.ids.map((_, i) => i),
    };
  }
  const grouping = new Grouping(by);
  const groupOf = matched.ids.map((_, i) =>
    grouping.indexOf(by.map((name) => (name === "__name__" ? matched.names[i] : matched.sets[i][name] ?? "")))
  );
  const groups = grouping.groups;
  return { groups, groupOf };
}

/** Groups by their values of `by`, indexed in the order they are first met. */
export class Grouping {
  readonly groups: Record<string, string>[] = [];
  readonly #index = new Map<string, number>();

  constructor(private readonly by: readonly string[]) {}

  indexOf(values: readonly string[]): number {
    const key = JSON.stringify(values);
    let g = this.#index.get(key);
    if (g === undefined) {
      this.#index.set(key, g = this.groups.length);
      // A missing label is the empty string and stays out of the group's labels, as in PromQL.
      const labels: Record<string, string> = {};
      this.by.forEach((name, j) => {
        if (values[j] !== "") labels[name] = values[j];
      });
      this.groups.push(labels);
    }
    return g;
  }
}
