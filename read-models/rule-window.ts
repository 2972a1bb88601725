/**
 * A polling rule's window aggregate per group, from the 1m rollups: the rule's
 * aggregate over the buckets in [from, to) (whole minutes), grouped by the rule's `by`
 * labels, for the matching series of one tenant. The same series lookup and mergeable
 * states as the dashboard's rollup queries, so a rule sees what a chart of the same
 * window shows.
 *
 * @example
 * const groups = await ruleWindow(store, "acme", rule, from, to); // [{ labels: { host: "web-1" }, value: 93.5 }]
 */
import type { AnalyticsStore, QueryParams } from "../domain/ports/analytics-store.ts";
import type { AlertRule } from "../domain/alerting/rule.ts";
import type { Matcher } from "./promql/ast.ts";
import { matchedSeries } from "./promql/matched-series.ts";
import { namedScope, withClause } from "./promql/series-scope.ts";
import { QUERY_SETTINGS } from "./promql/selector-sql.ts";
import { rollupAggregate } from "./sample-query.ts";

/** Series one rule may read; past it the rule's evaluation fails with a reason. */
const MAX_SERIES = 1_000_000;

export interface WindowGroup {
  readonly labels: Record<string, string>;
  /** Undefined when the window's aggregate is not a finite number (NaN only, or ±Inf). */
  readonly value: number | undefined;
}

export async function ruleWindow(
  store: AnalyticsStore,
  tenant: string,
  rule: Pick<AlertRule, "metric" | "filters" | "agg" | "by">,
  from: number,
  to: number,
): Promise<WindowGroup[]> {
  const matchers: Matcher[] = [
    { name: "__name__", type: "=", value: rule.metric },
    ...Object.entries(rule.filters).map(([name, value]) => ({ name, type: "=" as const, value })),
  ];
  const matched = await matchedSeries(store, tenant, matchers, from, to, {
    cap: MAX_SERIES + 1,
    labels: rule.by,
    settings: QUERY_SETTINGS,
  });
  if (matched.ids.length > MAX_SERIES) throw new Error(`more than ${MAX_SERIES} series match`);
  if (matched.ids.length === 0) return [];
  const params: QueryParams = { tenant, from, to };
  const scope = namedScope(matched, rule.by, params);
  const rows = await store.query<{ g: number | string; v: number | string }>(
    `${withClause(scope.with)}SELECT ${scope.group("r.series_id")} AS g, ${rollupAggregate(rule.agg)} AS v
      FROM rollup_1m AS r
      WHERE r.tenant = {tenant:String} AND ${scope.filter("r.series_id")}
        AND r.bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND r.bucket < toDateTime(intDiv({to:Int64}, 1000))
      GROUP BY g`,
    params,
    { ...QUERY_SETTINGS, output_format_json_quote_denormals: 1 },
  );
  return rows.map((row) => {
    const value = typeof row.v === "number" ? row.v : Number(row.v);
    return { labels: scope.groups[scope.resolve(row.g)], value: Number.isFinite(value) ? value : undefined };
  });
}
