/**
 * The raw part of a dashboard query answered from the head of recent samples
 * (recent-samples.ts) instead of a statement over `samples`: when the head holds every
 * sample of the tenant in the part's range and the query names its series, each
 * series' samples in [from, to) are aggregated per group and step bucket here, by the
 * rules of the raw statement it replaces. NaN samples (and stale markers) are left out;
 * percentiles are the order statistic at rank ⌊q·(n−1)⌋; `last` is the value at the
 * newest time, the greater one where series of a group share it. A group and bucket
 * without a sample gives no row, as the statement's `GROUP BY` gives none.
 *
 * Sums and averages may differ from the statement's in the last bits: the engine adds
 * floating-point values in its own order.
 *
 * @example
 * if (head.covers(tenant, rawFrom - 1)) {
 *   rows.push(...recentTail(head, tenant, { ids, groupOf, agg: "avg", from: rawFrom, to, step }));
 * }
 */
import type { RecentSamples } from "./recent-samples.ts";
import { SampleBuffer } from "./series-chunks.ts";
import type { Aggregation } from "./sample-query.ts";

export interface TailRequest {
  /** Series ids in decimal, and each one's group index. */
  readonly ids: readonly string[];
  readonly groupOf: readonly number[];
  readonly agg: Aggregation;
  /** The percentile `agg` names (0.5 for p50), for the percentiles. */
  readonly quantile?: number;
  /** The part's range [from, to) in ms; `from` is a multiple of `step`. */
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

export interface TailRow {
  /** The group index. */
  readonly g: number;
  /** The bucket's start (ms). */
  readonly t: number;
  readonly v: number;
}

/** One group and bucket's running aggregate. */
interface Cell {
  readonly g: number;
  readonly t: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  lastT: number;
  last: number;
  values?: number[];
}

/** The part's rows, ordered by bucket and, within a bucket, by group. */
export function recentTail(head: RecentSamples, tenant: string, request: TailRequest): TailRow[] {
  const { agg, from, step, quantile } = request;
  const buckets = Math.ceil((request.to - from) / step);
  const cells = new Map<number, Cell>();
  const buffer = new SampleBuffer();
  for (let i = 0; i < request.ids.length; i++) {
    // Times are whole milliseconds: (from − 1, to − 1] is [from, to).
    const n = head.series(tenant, request.ids[i])?.read(from - 1, request.to - 1, buffer) ?? 0;
    const g = request.groupOf[i];
    for (let k = 0; k < n; k++) {
      const v = buffer.v[k];
      if (Number.isNaN(v)) continue;
      const t = buffer.t[k];
      const b = Math.floor((t - from) / step);
      const key = g * buckets + b;
      let cell = cells.get(key);
      if (cell === undefined) {
        cell = {
          g,
          t: from + b * step,
          n: 0,
          sum: 0,
          min: Infinity,
          max: -Infinity,
          lastT: -Infinity,
          last: NaN,
        };
        if (quantile !== undefined) cell.values = [];
        cells.set(key, cell);
      }
      cell.n++;
      cell.sum += v;
      if (v < cell.min) cell.min = v;
      if (v > cell.max) cell.max = v;
      if (t > cell.lastT || (t === cell.lastT && v > cell.last)) {
        cell.lastT = t;
        cell.last = v;
      }
      cell.values?.push(v);
    }
  }
  const rows: TailRow[] = [];
  for (const cell of [...cells.values()].sort((a, b) => a.t - b.t || a.g - b.g)) {
    rows.push({ g: cell.g, t: cell.t, v: value(cell, agg, quantile) });
  }
  return rows;
}

function value(cell: Cell, agg: Aggregation, quantile: number | undefined): number {
  switch (agg) {
    case "avg":
      return cell.sum / cell.n;
    case "sum":
      return cell.sum;
    case "min":
      return cell.min;
    case "max":
      return cell.max;
    case "count":
      return cell.n;
    case "last":
      return cell.last;
    default: {
      const sorted = Float64Array.from(cell.values!).sort();
      return sorted[Math.floor(quantile! * (cell.n - 1))];
    }
  }
}
