/**
 * PromQL selectors as ClickHouse SQL over the `series` and `samples` tables: every
 * matcher becomes a predicate on the metric or on the labels map (`=~`/`!~` anchored,
 * RE2 in both Prometheus and ClickHouse), and the tenant predicate comes from the
 * caller's identity, never from the query. A missing label reads as the empty string,
 * which is exactly PromQL's rule (`{env=""}` matches series without `env`).
 *
 * The matching series are looked up first (matched-series.ts) and their samples read
 * by id. Samples come back one row per series with their times, values and stale flags as
 * arrays, so a long range costs one row per series rather than one per sample. The
 * stale flag compares the stored bits with the Prometheus stale marker
 * (0x7ff0000000000002), which the store keeps as sent; the quiet bit is ignored
 * because a marker that passed through a JavaScript number arrives quieted
 * (0x7ff8000000000002), a pattern no arithmetic produces.
 *
 * @example
 * const source = clickHouseSource(store, "acme", limits);
 * await source.select([{ name: "__name__", type: "=", value: "up" }], from, to);
 */
import { LimitExceeded } from "../../domain/errors.ts";
import type { AnalyticsStore, QueryParams } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import type { Matcher } from "./ast.ts";
import type { SampleSource } from "./evaluate.ts";
import type { RawSeries } from "./values.ts";
import { aggregateInstant } from "./aggregate-sql.ts";
import { bindIds, matchedSeries } from "./matched-series.ts";

export interface SelectLimits {
  /** Series one selector may match. */
  readonly maxSeries: number;
  /** Samples one query may read, over all its selectors. */
  readonly maxSamples: number;
  readonly maxExecutionSeconds: number;
}

/** A `WHERE` fragment over `series` for the matchers; values go into `params`. */
export function matchersSql(matchers: readonly Matcher[], params: QueryParams, prefix = "m"): string {
  return matchers.map((m, i) => {
    const value = `${prefix}${i}`;
    params[value] = m.type === "=~" || m.type === "!~" ? `^(?:${m.value})$` : m.value;
    const column = m.name === "__name__" ? "metric" : `labels[{${prefix}n${i}:String}]`;
    if (m.name !== "__name__") params[`${prefix}n${i}`] = m.name;
    switch (m.type) {
      case "=":
        return `${column} = {${value}:String}`;
      case "!=":
        return `${column} != {${value}:String}`;
      case "=~":
        return `match(${column}, {${value}:String})`;
      case "!~":
        return `NOT match(${column}, {${value}:String})`;
      default: {
        const unknown: never = m.type;
        throw new Error(`unknown matcher ${unknown}`);
      }
    }
  }).join(" AND ");
}

/** `series` rows of the tenant matching the selector and seen in [from, to]. */
export function seriesWhere(
  tenant: string,
  matchers: readonly Matcher[],
  from: number,
  to: number,
  params: QueryParams,
): string {
  params.tenant = tenant;
  params.dayFrom = Math.floor(from / 1000);
  params.dayTo = Math.floor(to / 1000);
  return `tenant = {tenant:String} AND ${matchersSql(matchers, params)}
    AND day >= toDate(toDateTime({dayFrom:Int64}, 'UTC')) AND day <= toDate(toDateTime({dayTo:Int64}, 'UTC'))`;
}

interface SelectedRow {
  readonly id: string;
  readonly t: (number | string)[];
  readonly v: (number | string)[];
  readonly s: number[];
}

/**
 * Denormals as text so NaN and ±Inf survive JSON; a query size that fits the literal
 * id lists of matched series (about 10 bytes per series, twice). A part is read on
 * several threads from 16,384 rows or 1 MiB on: ClickHouse's defaults (163,840 rows and
 * 240 MiB) leave a dashboard's scan of a few hundred MiB on one thread
 * (`bench/RESULTS.md`, "reads split across threads").
 */
export const QUERY_SETTINGS = {
  output_format_json_quote_denormals: 1,
  max_query_size: 64 << 20,
  merge_tree_min_rows_for_concurrent_read: 16_384,
  merge_tree_min_bytes_for_concurrent_read: 1 << 20,
} as const;

export function clickHouseSource(
  store: AnalyticsStore,
  tenant: string,
  limits: SelectLimits,
  catalog?: SeriesCatalog,
): SampleSource {
  let samplesRead = 0;
  const settings = { ...QUERY_SETTINGS, max_execution_time: limits.maxExecutionSeconds };
  return {
    aggregateInstant: (request) =>
      aggregateInstant(
        store,
        tenant,
        request,
        { ...settings, max_rows_to_read: limits.maxSamples },
        limits.maxSeries,
        catalog,
      ),
    async select(matchers, from, to) {
      const matched = await matchedSeries(store, tenant, matchers, from, to, {
        cap: limits.maxSeries + 1,
        settings,
        catalog,
      });
      if (matched.ids.length > limits.maxSeries) {
        throw new LimitExceeded(
          `Cannot run the query: a selector matches more than ${limits.maxSeries} series; add label matchers`,
        );
      }
      if (matched.ids.length === 0) return [];
      const params: QueryParams = { tenant, from, to, budget: limits.maxSamples - samplesRead };
      // Each series' labels are needed here, so every id is at hand and named.
      const ids = bindIds(matched, params);
      // Arrays are sorted by time here because groupArray keeps no order across threads.
      const rows = await store.query<SelectedRow>(
        `SELECT toString(series_id) AS id,
           arraySort(groupArray(toUnixTimestamp64Milli(ts))) AS t,
           arraySort((v, k) -> k, groupArray(value), groupArray(ts)) AS v,
           arraySort((s, k) -> k, groupArray(toUInt8(bitAnd(reinterpretAsUInt64(value), 0xfff7ffffffffffff)
             = 0x7ff0000000000002)), groupArray(ts)) AS s
         FROM (SELECT series_id, ts, value FROM samples FINAL
               WHERE tenant = {tenant:String} AND has(${ids}, series_id)
                 AND ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
               LIMIT {budget:UInt64} + 1)
         GROUP BY series_id`,
        params,
        settings,
      );
      const index = new Map(matched.ids.map((id, i) => [id, i]));
      const out: RawSeries[] = [];
      for (const row of rows) {
        samplesRead += row.t.length;
        if (samplesRead > limits.maxSamples) {
          throw new LimitExceeded(
            `Cannot run the query: it reads more than ${limits.maxSamples} samples; shorten the range or add label matchers`,
          );
        }
        const i = index.get(row.id)!;
        out.push({
          labels: { __name__: matched.names[i], ...matched.sets[i] },
          t: Float64Array.from(row.t, Number),
          v: Float64Array.from(row.v, sampleValue),
          stale: Uint8Array.from(row.s),
        });
      }
      return out;
    },
  };
}

/** A Float64 as ClickHouse writes it in JSON with quoted denormals. */
export function sampleValue(v: number | string): number {
  if (typeof v === "number") return v;
  if (v === "inf" || v === "+inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "nan" || v === "-nan") return NaN;
  return Number(v);
}
