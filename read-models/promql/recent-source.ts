/**
 * A sample source that answers a selection from the head of recent samples
 * (recent-samples.ts) when the head holds every sample of the tenant in the range, and
 * from ClickHouse otherwise. The series are matched the same way on both paths (the
 * series catalog, or the `series` table where it cannot answer), so both see the same
 * series; the head path then copies each one's samples in (from, to] out of its chunks,
 * and computes a pushed-down aggregation with the rules of the statement it replaces
 * (step-aggregate.ts). A series without a sample in the range is left out, as the
 * statement's `GROUP BY` leaves it out.
 *
 * @example
 * const source = recentSource(head, clickHouseSource(store, "acme", limits, catalog), {
 *   store, tenant: "acme", limits, catalog, answered: (path) => telemetry.count(…, { path }),
 * });
 */
import { LimitExceeded } from "../../domain/errors.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import type { SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import type { RecentSamples } from "../recent-samples.ts";
import type { InstantAggregate } from "./aggregate-sql.ts";
import type { Matcher } from "./ast.ts";
import type { SampleSource } from "./evaluate.ts";
import { ascendingIds, groupIndex, type MatchedSeries, matchedSeries } from "./matched-series.ts";
import { QUERY_SETTINGS, type SelectLimits } from "./selector-sql.ts";
import { StepAggregate } from "./step-aggregate.ts";
import { SampleBuffer } from "../series-chunks.ts";
import type { RawSeries } from "./values.ts";

export type AnsweredBy = "head" | "store";

export interface RecentSourceOptions {
  readonly store: AnalyticsStore;
  readonly tenant: string;
  readonly limits: SelectLimits;
  readonly catalog?: SeriesCatalog;
  /** Told of each selection, which path answered it. */
  readonly answered?: (path: AnsweredBy) => void;
}

export function recentSource(
  head: RecentSamples,
  store: SampleSource,
  options: RecentSourceOptions,
): SampleSource {
  const { tenant, limits } = options;
  let samplesRead = 0;
  const read = (n: number) => {
    samplesRead += n;
    if (samplesRead > limits.maxSamples) {
      throw new LimitExceeded(
        `Cannot run the query: it reads more than ${limits.maxSamples} samples; shorten the range or add label matchers`,
      );
    }
  };
  const match = async (
    matchers: readonly Matcher[],
    from: number,
    to: number,
    labels?: readonly string[],
  ) => {
    const matched = await matchedSeries(options.store, tenant, matchers, from, to, {
      cap: limits.maxSeries + 1,
      labels,
      settings: { ...QUERY_SETTINGS, max_execution_time: limits.maxExecutionSeconds },
      catalog: options.catalog,
    });
    if (matched.total > limits.maxSeries) {
      throw new LimitExceeded(
        `Cannot run the query: a selector matches more than ${limits.maxSeries} series; add label matchers`,
      );
    }
    return matched;
  };
  const storeAggregate = store.aggregateInstant?.bind(store);
  return {
    async select(matchers, from, to) {
      if (!head.covers(tenant, from)) {
        options.answered?.("store");
        return await store.select(matchers, from, to);
      }
      options.answered?.("head");
      const matched = await match(matchers, from, to);
      const out: RawSeries[] = [];
      const buffer = new SampleBuffer();
      matched.ids.forEach((id, i) => {
        const n = head.series(tenant, id)?.read(from, to, buffer) ?? 0;
        if (n === 0) return;
        read(n);
        out.push({
          labels: { __name__: matched.names[i], ...matched.sets[i] },
          t: buffer.t.slice(0, n),
          v: buffer.v.slice(0, n),
          stale: buffer.stale.slice(0, n),
        });
      });
      return out;
    },
    // Offered where the store offers it, so the evaluator plans the same way on both paths.
    aggregateInstant: storeAggregate && (async (request) => {
      const from = request.start - request.lookbackMs;
      if (!head.covers(tenant, from)) {
        options.answered?.("store");
        return await storeAggregate(request);
      }
      options.answered?.("head");
      const to = request.start + (request.count - 1) * request.step;
      const matched = await match(
        request.matchers,
        from,
        to,
        request.by.filter((name) => name !== "__name__"),
      );
      return aggregated(head, tenant, matched, request, from, to, read);
    }),
  };
}

function aggregated(
  head: RecentSamples,
  tenant: string,
  matched: MatchedSeries,
  request: InstantAggregate,
  from: number,
  to: number,
  read: (n: number) => void,
) {
  const { groups, groupOf } = groupIndex(matched, request.by);
  const steps = new StepAggregate(request.op, groups.length, request);
  const buffer = new SampleBuffer();
  // Sums are taken in series order on both paths (aggregate-sql.ts).
  const ordered = request.op === "sum" || request.op === "avg";
  for (const i of ordered ? ascendingIds(matched.ids) : matched.ids.keys()) {
    const n = head.series(tenant, matched.ids[i])?.read(from, to, buffer) ?? 0;
    if (n === 0) continue;
    read(n);
    steps.add(groupOf[i], buffer.t, buffer.v, buffer.stale, n);
  }
  return steps.series(groups);
}
