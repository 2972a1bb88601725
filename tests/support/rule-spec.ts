/**
 * The rule from the API documentation (`cpu_high`), for tests to vary field by field.
 */
import type { RuleSpec } from "../../domain/alerting/rule.ts";

export function cpuHighSpec(overrides: Partial<RuleSpec> = {}): RuleSpec {
  return {
    name: "cpu_high",
    metric: "cpu_usage",
    filters: { service: "api" },
    agg: "avg",
    window: "1m",
    by: ["host"],
    condition: { op: ">", critical: 90, criticalRecovery: 80, warning: 75, warningRecovery: 70 },
    for: "30s",
    keepFiringFor: "0s",
    noData: "10m",
    evaluationDelay: "0s",
    severity: "page",
    labels: {},
    annotations: { summary: "CPU high on {{host}}" },
    channels: [],
    mode: "streaming",
    ...overrides,
  };
}
