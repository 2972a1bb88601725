/**
 * Label rules: Prometheus-style metric and label names, and the per-series limits a
 * tenant is held to. `checkSeries` returns a reason instead of throwing, because one
 * bad series must not cost the rest of its request.
 *
 * Datadog-style names are mapped, not rejected: `normalizeMetricName("system.load.1")`
 * gives `system_load_1` (every character outside `[a-zA-Z0-9_:]` becomes `_`, and a
 * leading digit gets a `_` prefix); label names get the same treatment without `:`.
 */
import type { Labels } from "./series.ts";

export interface LabelLimits {
  /** Labels per series, not counting the metric name. */
  readonly maxLabels: number;
  readonly maxNameLength: number;
  readonly maxValueLength: number;
}

export const defaultLabelLimits: LabelLimits = {
  maxLabels: 30,
  maxNameLength: 256,
  maxValueLength: 2048,
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith("__");
}

export function normalizeMetricName(name: string): string {
  if (METRIC_NAME.test(name)) return name;
  const mapped = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(mapped) ? "_" + mapped : mapped;
}

export function normalizeLabelName(name: string): string {
  if (LABEL_NAME.test(name)) return name;
  const mapped = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(mapped) ? "_" + mapped : mapped;
}

/** Returns why a series is not acceptable, or undefined when it is. */
export function checkSeries(metric: string, labels: Labels, limits: LabelLimits): string | undefined {
  if (metric.length === 0) return "metric name is empty";
  if (metric.length > limits.maxNameLength) {
    return `metric name is ${metric.length} characters long, over the limit of ${limits.maxNameLength}`;
  }
  if (!METRIC_NAME.test(metric)) {
    return `metric name "${metric}" is not a valid name ([a-zA-Z_:][a-zA-Z0-9_:]*)`;
  }
  let count = 0;
  for (const name in labels) {
    count++;
    const value = labels[name];
    if (typeof value !== "string") return `label "${name}" has a value that is not a string`;
    if (name.length > limits.maxNameLength) {
      return `label name "${
        name.slice(0, 64)
      }…" is ${name.length} characters long, over the limit of ${limits.maxNameLength}`;
    }
    if (!isValidLabelName(name)) {
      return `label name "${name}" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`;
    }
    if (value.length > limits.maxValueLength) {
      return `label "${name}" has a value ${value.length} characters long, over the limit of ${limits.maxValueLength}`;
    }
  }
  if (count > limits.maxLabels) return `series has ${count} labels, over the limit of ${limits.maxLabels}`;
  return undefined;
}
