/**
 * The in-process series catalog: per tenant, metric → label → value → postings (the
 * ordinals of the series with that value, ascending), and per series its id, labels and
 * the days it was seen, so a selector is resolved without a ClickHouse statement.
 *
 * A selector starts from the shortest postings list of its non-empty `=` label matchers
 * (or every series of each metric its `__name__` matchers select) and then tests each
 * candidate against all matchers, which keeps the four matcher types and the
 * missing-label-is-empty rule in one place. Regular expressions are run by JavaScript
 * only when they stay inside the syntax that RE2 and JavaScript read alike; any other
 * pattern gets `undefined`, and the caller asks the `series` table.
 *
 * @example
 * const index = new SeriesIndex();
 * await index.add("acme", [{ id: "42", metric: "up", labels: { job: "api" } }], 20_000);
 * await index.match("acme", [{ name: "__name__", type: "=", value: "up" }], from, to);
 */
import type { CatalogMatcher, CatalogSeries, SeriesCatalog } from "../domain/ports/series-catalog.ts";
import { daysOverlap, type Predicate, predicateOf } from "./series-predicates.ts";
import { TenantSeries } from "./tenant-series.ts";

const DAY_MS = 86_400_000;

export class SeriesIndex implements SeriesCatalog {
  readonly #tenants = new Map<string, TenantSeries>();

  add(tenant: string, series: readonly CatalogSeries[], day: number): Promise<void> {
    this.addNow(tenant, series, day);
    return Promise.resolve();
  }

  /** `add` for callers on a hot path that cannot wait for a promise (the raw projection). */
  addNow(tenant: string, series: readonly CatalogSeries[], day: number): void {
    let own = this.#tenants.get(tenant);
    if (own === undefined) this.#tenants.set(tenant, own = new TenantSeries());
    for (const s of series) own.add(s, day);
  }

  /** Series held for the tenant: what the index costs in memory grows with this. */
  size(tenant: string): number {
    return this.#tenants.get(tenant)?.count ?? 0;
  }

  match(tenant: string, matchers: readonly CatalogMatcher[], from: number, to: number) {
    const ordinals = this.#ordinals(tenant, matchers, from, to);
    if (ordinals === undefined) return Promise.resolve(undefined);
    const own = this.#tenants.get(tenant);
    return Promise.resolve(own === undefined ? [] : ordinals.map((o) => own.series(o)));
  }

  labelNames(tenant: string, selectors: readonly (readonly CatalogMatcher[])[], from: number, to: number) {
    const names = new Set<string>();
    const found = this.#each(tenant, selectors, from, to, (s) => {
      for (const name in s.labels) names.add(name);
    });
    return Promise.resolve(found ? ["__name__", ...[...names].sort()] : undefined);
  }

  labelValues(
    tenant: string,
    name: string,
    selectors: readonly (readonly CatalogMatcher[])[],
    from: number,
    to: number,
  ) {
    const values = new Set<string>();
    const found = this.#each(tenant, selectors, from, to, (s) => {
      const value = name === "__name__" ? s.metric : s.labels[name];
      if (value !== undefined) values.add(value);
    });
    return Promise.resolve(found ? [...values].sort() : undefined);
  }

  /** Calls `visit` once per series any selector matches (all series without selectors). */
  #each(
    tenant: string,
    selectors: readonly (readonly CatalogMatcher[])[],
    from: number,
    to: number,
    visit: (s: CatalogSeries) => void,
  ): boolean {
    const own = this.#tenants.get(tenant);
    const chosen = new Set<number>();
    for (const matchers of selectors.length === 0 ? [[]] : selectors) {
      const ordinals = this.#ordinals(tenant, matchers, from, to);
      if (ordinals === undefined) return false;
      for (const o of ordinals) chosen.add(o);
    }
    if (own !== undefined) { for (const o of chosen) visit(own.series(o)); }
    return true;
  }

  #ordinals(
    tenant: string,
    matchers: readonly CatalogMatcher[],
    from: number,
    to: number,
  ): number[] | undefined {
    const predicates: Predicate[] = [];
    for (const m of matchers) {
      const p = predicateOf(m);
      if (p === undefined) return undefined;
      predicates.push(p);
    }
    const own = this.#tenants.get(tenant);
    if (own === undefined) return [];
    const dayFrom = Math.floor(from / DAY_MS);
    const dayTo = Math.floor(to / DAY_MS);
    const out: number[] = [];
    for (const candidates of own.candidates(matchers, predicates)) {
      for (const o of candidates) {
        if (!daysOverlap(own.days(o), dayFrom, dayTo)) continue;
        const s = own.series(o);
        if (
          predicates.every((p, i) =>
            p(matchers[i].name === "__name__" ? s.metric : s.labels[matchers[i].name] ?? "")
          )
        ) {
          out.push(o);
        }
      }
    }
    return out;
  }
}
