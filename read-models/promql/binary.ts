/**
 * Binary operators with Prometheus' matching rules. Arithmetic drops the metric name;
 * a comparison filters (keeping the left value) unless `bool` turns it into 0/1.
 * Between two vectors, series match on their labels without the name, restricted by
 * `on(…)` or widened by `ignoring(…)`; `group_left`/`group_right` allow many-to-one
 * and copy the listed labels from the "one" side. Two series on the "one" side with
 * the same signature at one step is an execution error, as in Prometheus.
 */
import { Unsupported } from "../../domain/errors.ts";
import type { BinaryOp, VectorMatching } from "./ast.ts";
import { type Grid, type Labels, labelsKey, newSeries, type StepSeries, withoutName } from "./values.ts";

export function isComparison(op: BinaryOp): boolean {
  return op === "==" || op === "!=" || op === ">" || op === "<" || op === ">=" || op === "<=";
}

/** The operator on two numbers; comparisons give 1 or 0. */
export function apply(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return a ** b;
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case "<":
      return a < b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
    case "and":
    case "or":
    case "unless":
      throw new Error(`${op} is not an arithmetic operator`);
    default: {
      const unknown: never = op;
      throw new Error(`unknown operator ${unknown}`);
    }
  }
}

/** Vector op scalar (or scalar op vector when `scalarLeft`). */
export function vectorScalar(
  op: BinaryOp,
  vector: readonly StepSeries[],
  scalar: Float64Array,
  scalarLeft: boolean,
  bool: boolean,
  grid: Grid,
): StepSeries[] {
  const filter = isComparison(op) && !bool;
  return vector.map((s) => {
    const out = newSeries(filter ? s.labels : withoutName(s.labels), grid.count);
    for (let i = 0; i < grid.count; i++) {
      if (s.present[i] !== 1) continue;
      const [a, b] = scalarLeft ? [scalar[i], s.values[i]] : [s.values[i], scalar[i]];
      const r = apply(op, a, b);
      if (filter && r !== 1) continue;
      out.values[i] = filter ? s.values[i] : r;
      out.present[i] = 1;
    }
    return out;
  });
}

function signature(labels: Labels, matching: VectorMatching | undefined): string {
  const kept: Labels = {};
  if (matching?.mode === "on") {
    for (const name of matching.labels) if (labels[name]) kept[name] = labels[name];
  } else {
    const drop = new Set([...(matching?.labels ?? []), "__name__"]);
    for (const [name, value] of Object.entries(labels)) if (!drop.has(name)) kept[name] = value;
  }
  return labelsKey(kept);
}

function resultLabels(
  many: Labels,
  one: Labels,
  matching: VectorMatching | undefined,
  dropName: boolean,
): Labels {
  let labels: Labels = dropName ? withoutName(many) : { ...many };
  if (!matching?.group) {
    if (matching?.mode === "on") {
      const kept: Labels = {};
      for (const name of matching.labels) if (labels[name]) kept[name] = labels[name];
      labels = kept;
    } else if (matching?.mode === "ignoring") {
      labels = { ...labels };
      for (const name of matching.labels) delete labels[name];
    }
    return labels;
  }
  labels = { ...labels };
  for (const name of matching.group.include) {
    if (one[name]) labels[name] = one[name];
    else delete labels[name];
  }
  return labels;
}

export function vectorVector(
  op: BinaryOp,
  lhs: readonly StepSeries[],
  rhs: readonly StepSeries[],
  bool: boolean,
  matching: VectorMatching | undefined,
  grid: Grid,
): StepSeries[] {
  const right = matching?.group?.side === "right";
  const [many, one] = right ? [rhs, lhs] : [lhs, rhs];
  const filter = isComparison(op) && !bool;
  const ones = new Map<string, StepSeries[]>();
  for (const s of one) {
    const key = signature(s.labels, matching);
    ones.set(key, [...(ones.get(key) ?? []), s]);
  }
  const results = new Map<string, StepSeries>();
  const manyPerStep = new Map<string, Uint8Array>();
  for (const m of many) {
    const key = signature(m.labels, matching);
    const candidates = ones.get(key);
    if (!candidates) continue;
    for (let i = 0; i < grid.count; i++) {
      if (m.present[i] !== 1) continue;
      const matched = candidates.filter((c) => c.present[i] === 1);
      if (matched.length === 0) continue;
      if (matched.length > 1) {
        throw new Unsupported(
          `Cannot run the query: found duplicate series for the match group ${key || "{}"} on the ${
            right ? "left" : "right"
          } side of "${op}"; many-to-many matching is not allowed`,
        );
      }
      const o = matched[0];
      const [a, b] = right ? [o.values[i], m.values[i]] : [m.values[i], o.values[i]];
      const r = apply(op, a, b);
      if (filter && r !== 1) continue;
      const labels = resultLabels(m.labels, o.labels, matching, !filter);
      const id = labelsKey(labels);
      if (!matching?.group) {
        const seen = manyPerStep.get(key) ?? new Uint8Array(grid.count);
        manyPerStep.set(key, seen);
        if (seen[i] === 1) {
          throw new Unsupported(
            `Cannot run the query: multiple matches for labels ${key || "{}"} on the ${
              right ? "right" : "left"
            } side of "${op}"; use group_left or group_right for many-to-one matching`,
          );
        }
        seen[i] = 1;
      }
      let out = results.get(id);
      if (!out) results.set(id, out = newSeries(labels, grid.count));
      out.values[i] = filter ? a : r;
      out.present[i] = 1;
    }
  }
  return [...results.values()];
}

/** `and`, `or`, `unless`: set operations per step on the match signature. */
export function setOperation(
  op: "and" | "or" | "unless",
  lhs: readonly StepSeries[],
  rhs: readonly StepSeries[],
  matching: VectorMatching | undefined,
  grid: Grid,
): StepSeries[] {
  const presentBySignature = (side: readonly StepSeries[]) => {
    const map = new Map<string, Uint8Array>();
    for (const s of side) {
      const key = signature(s.labels, matching);
      const mask = map.get(key) ?? new Uint8Array(grid.count);
      for (let i = 0; i < grid.count; i++) mask[i] |= s.present[i];
      map.set(key, mask);
    }
    return map;
  };
  const keep = (side: readonly StepSeries[], mask: Map<string, Uint8Array>, whenPresent: boolean) =>
    side.map((s) => {
      const other = mask.get(signature(s.labels, matching));
      const out = newSeries(s.labels, grid.count);
      for (let i = 0; i < grid.count; i++) {
        if (s.present[i] === 1 && ((other?.[i] === 1) === whenPresent)) {
          out.values[i] = s.values[i];
          out.present[i] = 1;
        }
      }
      return out;
    });
  if (op === "and") return keep(lhs, presentBySignature(rhs), true);
  if (op === "unless") return keep(lhs, presentBySignature(rhs), false);
  return [...lhs, ...keep(rhs, presentBySignature(lhs), false)];
}
