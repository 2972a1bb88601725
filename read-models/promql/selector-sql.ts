/**
 * PromQL selectors as ClickHouse SQL over the `series` and `samples` tables: every
 * matcher becomes a predicate on the metric or on the labels map (`=~`/`!~` anchored,
 * RE2 in both Prometheus and ClickHouse), and the tenant predicate comes from the
 * caller's identity, never from the query. A missing label reads as the empty string,
 * which is exactly PromQL's rule (`{env=""}` matches series without `env`).
 *
 * Samples come back one row per series with their times, values and stale flags as
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
import type { Matcher } from "./ast.ts";
import type { SampleSource } from "./evaluate.ts";
import type { RawSeries } from "./values.ts";

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

interface SeriesRow {
  readonly id: string;
  readonly name: string;
  readonly set: Record<string, string>;
}

interface SamplesRow {
  readonly id: string;
  readonly t: (number | string)[];
  readonly v: (number | string)[];
  readonly s: number[];
}

export function clickHouseSource(store: AnalyticsStore, tenant: string, limits: SelectLimits): SampleSource {
  let samplesRead = 0;
  const settings = { output_format_json_quote_denormals: 1, max_execution_time: limits.maxExecutionSeconds };
  return {
    async select(matchers, from, to) {
      const params: QueryParams = {};
      const where = seriesWhere(tenant, matchers, from, to, params);
      const series = await store.query<SeriesRow>(
        `SELECT toString(series_id) AS id, any(metric) AS name, any(labels) AS set FROM series
         WHERE ${where} GROUP BY series_id LIMIT {cap:UInt32}`,
        { ...params, cap: limits.maxSeries + 1 },
        settings,
      );
      if (series.length > limits.maxSeries) {
        throw new LimitExceeded(
          `Cannot run the query: a selector matches more than ${limits.maxSeries} series; add label matchers`,
        );
      }
      if (series.length === 0) return [];
      params.from = from;
      params.to = to;
      params.budget = limits.maxSamples - samplesRead;
      const rows = await store.query<SamplesRow>(
        `SELECT toString(series_id) AS id, groupArray(toUnixTimestamp64Milli(ts)) AS t, groupArray(value) AS v,
           groupArray(toUInt8(bitAnd(reinterpretAsUInt64(value), 0xfff7ffffffffffff) = 0x7ff0000000000002)) AS s
         FROM (SELECT series_id, ts, value FROM samples
               WHERE tenant = {tenant:String}
                 AND series_id IN (SELECT series_id FROM series WHERE ${where})
                 AND ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
               ORDER BY series_id, ts LIMIT {budget:UInt64} + 1)
         GROUP BY series_id`,
        params,
        settings,
      );
      const byId = new Map(series.map((s) => [s.id, s]));
      const out: RawSeries[] = [];
      for (const row of rows) {
        samplesRead += row.t.length;
        if (samplesRead > limits.maxSamples) {
          throw new LimitExceeded(
            `Cannot run the query: it reads more than ${limits.maxSamples} samples; shorten the range or add label matchers`,
          );
        }
        const info = byId.get(row.id);
        if (!info) continue;
        out.push({
          labels: { __name__: info.name, ...info.set },
          t: Float64Array.from(row.t, Number),
          v: Float64Array.from(row.v, sampleValue),
          stale: Uint8Array.from(row.s),
        });
      }
      return out;
    },
  };
}

function sampleValue(v: number | string): number {
  if (typeof v === "number") return v;
  if (v === "inf" || v === "+inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "nan" || v === "-nan") return NaN;
  return Number(v);
}
