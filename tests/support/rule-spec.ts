/**
 * The rule from the API documentation (`cpu_high`), for tests to vary field by field,
 * and the program settings end-to-end alerting tests run with.
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

/**
 * Loopback receivers allowed, two partitions, and no wall-clock ticks: tests stamp their
 * samples minutes back, and a tick would see those windows empty, so evaluation runs on
 * event time alone.
 */
export const ALERTING_TEST_ENV: Readonly<Record<string, string>> = {
  LOOKOUT_WEBHOOK_ALLOW_NETS: "127.0.0.0/8",
  LOOKOUT_PARTITIONS: "2",
  LOOKOUT_ALERT_TICK_MS: "3600000",
};
