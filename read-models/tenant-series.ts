/**
 * One tenant's part of the series index: series by ordinal (id, metric, labels, sorted
 * days seen), metric → ordinals, and metric → label → value → ordinals. Ordinals are
 * handed out in insertion order, so every postings list is ascending without sorting.
 */
import type { CatalogMatcher, CatalogSeries } from "../domain/ports/series-catalog.ts";
import type { Predicate } from "./series-predicates.ts";

export class TenantSeries {
  readonly #series: CatalogSeries[] = [];
  readonly #days: number[][] = [];
  readonly #byId = new Map<string, number>();
  readonly #byMetric = new Map<string, number[]>();
  readonly #postings = new Map<string, Map<string, Map<string, number[]>>>();

  get count(): number {
    return this.#series.length;
  }

  series(ordinal: number): CatalogSeries {
    return this.#series[ordinal];
  }

  days(ordinal: number): readonly number[] {
    return this.#days[ordinal];
  }

  add(s: CatalogSeries, day: number): void {
    let ordinal = this.#byId.get(s.id);
    if (ordinal === undefined) {
      ordinal = this.#series.length;
      this.#byId.set(s.id, ordinal);
      this.#series.push({ id: s.id, metric: s.metric, labels: s.labels });
      this.#days.push([]);
      listOf(this.#byMetric, s.metric).push(ordinal);
      let labels = this.#postings.get(s.metric);
      if (labels === undefined) this.#postings.set(s.metric, labels = new Map());
      for (const name in s.labels) {
        let values = labels.get(name);
        if (values === undefined) labels.set(name, values = new Map());
        listOf(values, s.labels[name]).push(ordinal);
      }
    }
    const days = this.#days[ordinal];
    if (days.includes(day)) return;
    days.push(day);
    days.sort((a, b) => a - b);
  }

  /**
   * This tenant's series with only their days from `firstDay` on, without the series
   * seen only before it: `this` when nothing is that old, else a new part with fresh
   * ordinals and postings (lists cannot drop entries in place and stay ascending cheaply).
   */
  since(firstDay: number): TenantSeries {
    let expired = false;
    for (const days of this.#days) {
      if (days.length > 0 && days[0] < firstDay) {
        expired = true;
        break;
      }
    }
    if (!expired) return this;
    const kept = new TenantSeries();
    for (let o = 0; o < this.#series.length; o++) {
      for (const day of this.#days[o]) if (day >= firstDay) kept.add(this.#series[o], day);
    }
    return kept;
  }

  /**
   * Ordinal lists that together hold every series the matchers can select, one per
   * metric they allow: the shortest postings list of a non-empty `=` label matcher, or
   * all the metric's series.
   */
  *candidates(
    matchers: readonly CatalogMatcher[],
    predicates: readonly Predicate[],
  ): Iterable<readonly number[]> {
    const named = matchers.findIndex((m) => m.name === "__name__" && m.type === "=");
    const metrics = named >= 0
      ? [matchers[named].value]
      : [...this.#byMetric.keys()].filter((metric) =>
        matchers.every((m, i) => m.name !== "__name__" || predicates[i](metric))
      );
    for (const metric of metrics) {
      const all = this.#byMetric.get(metric);
      if (all === undefined) continue;
      let shortest: readonly number[] = all;
      for (const m of matchers) {
        if (m.name === "__name__" || m.type !== "=" || m.value === "") continue;
        const list = this.#postings.get(metric)?.get(m.name)?.get(m.value) ?? [];
        if (list.length < shortest.length) shortest = list;
      }
      yield shortest;
    }
  }
}

function listOf<K>(map: Map<K, number[]>, key: K): number[] {
  let list = map.get(key);
  if (list === undefined) map.set(key, list = []);
  return list;
}
