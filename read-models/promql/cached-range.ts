/**
 * Range queries through the per-tenant cache of closed steps (result-cache.ts).
 * Steps whose windows end before the tenant's closed horizon are kept; a later
 * request on the same grid reuses them and evaluates only from the first step the
 * entry lacks. Queries with `@` are never cached (their steps depend on the request's
 * start or end), and a negative offset moves a step's window past its instant, which
 * the horizon check accounts for.
 */
import { type Expr, selectorsOf } from "./ast.ts";
import type { SampleSource } from "./evaluate.ts";
import { parsePromql } from "./parse.ts";
import { RangeResultCache } from "./result-cache.ts";
import { type QueryData, type QueryShapeLimits, rangeQuery, type SampleJson } from "./run-query.ts";
import { type Labels, labelsKey } from "./values.ts";
import { LimitExceeded } from "../../domain/errors.ts";

export interface CacheContext {
  readonly cache: RangeResultCache;
  readonly tenant: string;
  readonly horizon: () => Promise<number>;
  readonly lateMark: () => Promise<number>;
  /** Parses the query text; `parsePromql` by default. */
  readonly parse?: (text: string) => Expr;
}

type Matrix = { metric: Labels; values: SampleJson[] }[];

export async function cachedRangeQuery(
  source: SampleSource,
  text: string,
  range: { start: number; end: number; step: number },
  limits: QueryShapeLimits,
  lookbackMs: number,
  ctx: CacheContext,
): Promise<QueryData> {
  const parse = ctx.parse ?? parsePromql;
  const selectors = selectorsOf(parse(text));
  if (selectors.some((s) => s.at !== undefined)) {
    return await rangeQuery(source, text, range, limits, lookbackMs, parse);
  }
  const reach = Math.max(0, ...selectors.map((s) => -s.offsetMs));
  const key = RangeResultCache.key(ctx.tenant, text, range.start, range.step, lookbackMs);
  // Both before any evaluation: see result-cache.ts for why this order is safe.
  const mark = await ctx.lateMark();
  const horizon = await ctx.horizon();
  let entry = ctx.cache.lookup(key);
  if (entry && entry.lateMark !== mark) {
    ctx.cache.invalidate(key);
    entry = undefined;
  }
  const usable = entry !== undefined && entry.from <= range.start && entry.to >= range.start;
  const reused: Matrix = [];
  let freshStart = range.start;
  if (usable) {
    ctx.cache.stats.hits++;
    const last = Math.min(entry!.to, range.end);
    for (const s of entry!.series) {
      const values = s.values.filter(([t]) => t * 1000 >= range.start && t * 1000 <= last);
      if (values.length > 0) reused.push({ metric: s.metric, values });
    }
    freshStart = entry!.to + range.step;
  } else ctx.cache.stats.misses++;
  const fresh: Matrix = freshStart <= range.end
    ? (await rangeQuery(source, text, { ...range, start: freshStart }, limits, lookbackMs, parse))
      .result as Matrix
    : [];
  const result = merge(reused, fresh, limits);
  // A sample at the horizon itself is still on time, hence the − 1.
  const steps = Math.floor((horizon - 1 - reach - range.start) / range.step);
  const closedTo = Math.min(range.start + steps * range.step, range.end);
  if (steps >= 0 && closedTo >= range.start) {
    ctx.cache.store(key, {
      from: range.start,
      to: closedTo,
      lateMark: mark,
      series: result.map((s) => ({
        metric: s.metric,
        values: s.values.filter(([t]) => t * 1000 <= closedTo),
      })),
    });
  }
  return { resultType: "matrix", result };
}

function merge(a: Matrix, b: Matrix, limits: QueryShapeLimits): Matrix {
  if (a.length === 0) return b;
  const byKey = new Map<string, { metric: Labels; values: SampleJson[] }>();
  for (const s of [...a, ...b]) {
    const key = labelsKey(s.metric);
    const existing = byKey.get(key);
    if (existing) existing.values = [...existing.values, ...s.values];
    else {
      if (byKey.size >= limits.maxSeries) {
        throw new LimitExceeded(`Cannot run the query: the answer has more than ${limits.maxSeries} series`);
      }
      byKey.set(key, { metric: s.metric, values: [...s.values] });
    }
  }
  return [...byKey.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, s]) => s);
}
