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
 * With `days`, the index holds only the series seen on the last `days` days (UTC), so
 * its memory follows the series active in that span and not every series ever written:
 * a question about a range that starts before it gets `undefined` (the series table
 * answers), and `prune` drops what a new day has moved out of it.
 *
 * @example
 * const index = new SeriesIndex({ days: 35 });
 * await index.add("acme", [{ id: "42", metric: "up", labels: { job: "api" } }], 20_000);
 * await index.match("acme", [{ name: "__name__", type: "=", value: "up" }], from, to);
 */
import type { CatalogMatcher, CatalogSeries, SeriesCatalog } from "../domain/ports/series-catalog.ts";
import { daysOverlap, type Predicate, predicateOf } from "./series-predicates.ts";
import { TenantSeries } from "./tenant-series.ts";

const DAY_MS = 86_400_000;

export interface SeriesIndexOptions {
  /** Days held, today included; without it, every series added is kept. */
  readonly days?: number;
  readonly now?: () => number;
}

export class SeriesIndex implements SeriesCatalog {
  readonly #tenants = new Map<string, TenantSeries>();
  readonly #days?: number;
  readonly #now: () => number;

  constructor(options: SeriesIndexOptions = {}) {
    this.#days = options.days;
    this.#now = options.now ?? Date.now;
  }

  /** The first day held: questions about earlier days go to the series table. */
  firstDay(): number {
    return this.#days === undefined ? -Infinity : Math.floor(this.#now() / DAY_MS) - this.#days + 1;
  }

  /** Drops the series and days before `firstDay`; returns how many series went. */
  prune(): number {
    const first = this.firstDay();
    let dropped = 0;
    for (const [tenant, own] of this.#tenants) {
      const kept = own.since(first);
      if (kept === own) continue;
      dropped += own.count - kept.count;
      if (kept.count === 0) this.#tenants.delete(tenant);
      else this.#tenants.set(tenant, kept);
    }
    return dropped;
  }

  add(tenant: string, series: readonly CatalogSeries[], day: number): Promise<void> {
    this.addNow(tenant, series, day);
    return Promise.resolve();
  }

  /** `add` for callers on a hot path that cannot wait for a promise (the raw projection). */
  addNow(tenant: string, series: readonly CatalogSeries[], day: number): void {
    if (day < this.firstDay()) return;
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
    const dayFrom = Math.floor(from / DAY_MS);
    if (dayFrom < this.firstDay()) return undefined;
    const own = this.#tenants.get(tenant);
    if (own === undefined) return [];
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
