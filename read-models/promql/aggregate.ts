/**
 * Aggregation operators over an instant vector, per step: `sum`, `avg`, `min`, `max`,
 * `count`, `group`, `stddev`, `stdvar`, `quantile`, `topk`, `bottomk`, with `by` or
 * `without`. Results drop the metric name; `topk`/`bottomk` keep the chosen series'
 * labels, so over a range a series appears at the steps where it was among the k.
 */
import type { AggregateOp } from "./ast.ts";
import { quantileOf } from "./quantile.ts";
import { type Grid, type Labels, labelsKey, newSeries, type StepSeries } from "./values.ts";

export interface Grouping {
  readonly mode: "by" | "without";
  readonly labels: readonly string[];
}

export function groupLabels(labels: Labels, grouping: Grouping): Labels {
  const out: Labels = {};
  if (grouping.mode === "by") {
    for (const name of grouping.labels) {
      if (labels[name] !== undefined && labels[name] !== "") out[name] = labels[name];
    }
    return out;
  }
  const drop = new Set([...grouping.labels, "__name__"]);
  for (const [name, value] of Object.entries(labels)) if (!drop.has(name)) out[name] = value;
  return out;
}

function partition(input: readonly StepSeries[], grouping: Grouping) {
  const groups = new Map<string, { labels: Labels; members: StepSeries[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, grouping);
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) groups.set(key, group = { labels, members: [] });
    group.members.push(s);
  }
  return [...groups.values()];
}

export function aggregate(
  op: AggregateOp,
  input: readonly StepSeries[],
  grouping: Grouping,
  param: Float64Array | undefined,
  grid: Grid,
): StepSeries[] {
  if (op === "topk" || op === "bottomk") return selectK(op, input, grouping, param!, grid);
  const out: StepSeries[] = [];
  for (const group of partition(input, grouping)) {
    const result = newSeries(group.labels, grid.count);
    const values: number[] = [];
    for (let i = 0; i < grid.count; i++) {
      values.length = 0;
      for (const s of group.members) if (s.present[i] === 1) values.push(s.values[i]);
      if (values.length === 0) continue;
      result.values[i] = reduce(op, values, param ? param[i] : NaN);
      result.present[i] = 1;
    }
    out.push(result);
  }
  return out;
}

function reduce(op: Exclude<AggregateOp, "topk" | "bottomk">, values: number[], param: number): number {
  switch (op) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return values.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a));
    case "max":
      return values.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a));
    case "count":
      return values.length;
    case "group":
      return 1;
    case "stdvar":
    case "stddev": {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      return op === "stddev" ? Math.sqrt(variance) : variance;
    }
    case "quantile":
      return quantileOf(param, values);
    default: {
      const unknown: never = op;
      throw new Error(`unknown aggregation ${unknown}`);
    }
  }
}

function selectK(
  op: "topk" | "bottomk",
  input: readonly StepSeries[],
  grouping: Grouping,
  k: Float64Array,
  grid: Grid,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (const group of partition(input, grouping)) {
    const chosen = new Map<StepSeries, StepSeries>();
    for (let i = 0; i < grid.count; i++) {
      const n = Math.floor(k[i]);
      if (!(n >= 1)) continue;
      const present = group.members.filter((s) => s.present[i] === 1);
      // NaN sorts last for both, as in Prometheus.
      present.sort((a, b) => order(op, a.values[i], b.values[i]));
      for (const s of present.slice(0, n)) {
        let result = chosen.get(s);
        if (!result) chosen.set(s, result = newSeries(s.labels, grid.count));
        result.values[i] = s.values[i];
        result.present[i] = 1;
      }
    }
    out.push(...chosen.values());
  }
  return out;
}

function order(op: "topk" | "bottomk", a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return op === "topk" ? b - a : a - b;
}
