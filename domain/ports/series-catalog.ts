/**
 * The series catalog port: which series of a tenant a set of PromQL matchers selects,
 * and their label names and values, over the days a query covers. The `series` table in
 * ClickHouse is the catalog of record; an in-process index answers the same questions
 * without a statement (each chDB statement costs 4–5 ms CPU before any work), fed by
 * the raw projection in the same process and loaded from the table at start.
 *
 * Matchers follow PromQL: `=~`/`!~` are anchored, a missing label reads as the empty
 * string. A catalog that cannot answer a question exactly (a regular expression its
 * engine would read differently from ClickHouse's RE2) returns `undefined`, and the
 * caller asks the `series` table.
 *
 * @example
 * catalog.add("acme", [{ id: "42", metric: "up", labels: { job: "api" } }], 20_000);
 * await catalog.match("acme", [{ name: "job", type: "=~", value: "a.*" }], from, to);
 * // → [{ id: "42", metric: "up", labels: { job: "api" } }]
 */
export interface CatalogMatcher {
  readonly name: string;
  readonly type: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

export interface CatalogSeries {
  /** The series id as decimal text: UInt64 does not fit a JavaScript number. */
  readonly id: string;
  readonly metric: string;
  /** Labels without `__name__`. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface SeriesCatalog {
  /** Records the series as seen on `day` (days since the epoch, UTC). */
  add(tenant: string, series: readonly CatalogSeries[], day: number): Promise<void>;
  /** Series matching every matcher and seen on a day in [from, to] (ms), in no set order. */
  match(
    tenant: string,
    matchers: readonly CatalogMatcher[],
    from: number,
    to: number,
  ): Promise<CatalogSeries[] | undefined>;
  /** Label names (with `__name__`) of the series any selector matches, or of all series; sorted. */
  labelNames(
    tenant: string,
    selectors: readonly (readonly CatalogMatcher[])[],
    from: number,
    to: number,
  ): Promise<string[] | undefined>;
  /** Values of label `name` (`__name__` for metric names), as `labelNames` selects; sorted. */
  labelValues(
    tenant: string,
    name: string,
    selectors: readonly (readonly CatalogMatcher[])[],
    from: number,
    to: number,
  ): Promise<string[] | undefined>;
}
