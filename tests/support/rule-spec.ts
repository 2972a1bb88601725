/**
 * The rule from the API documentation (`cpu_high`), for tests to vary field by field,
 * the program settings end-to-end alerting tests run with, the command that
 * fires an incident of that rule, and the receiver's channel those tests create.
 */
import assert from "node:assert/strict";
import type { RuleSpec } from "../../domain/alerting/rule.ts";
import type { Program } from "./program.ts";
import type { IncidentCommand, IncidentLevel } from "../../domain/alerting/incident.ts";

/** `FireIncident` for one group of `cpu_high` (tenant acme), as the streaming evaluator sends it. */
export function fireIncident(
  incidentId: string,
  level: IncidentLevel = "critical",
  at = Date.now(),
): IncidentCommand {
  const subject = {
    incidentId,
    tenant: "acme",
    ruleId: "r1",
    ruleName: "cpu_high",
    severity: "page",
    labels: {},
  };
  return {
    type: "FireIncident",
    data: { ...subject, level, value: 97 },
    metadata: { who: "evaluator:streaming", why: "cpu above 90", at },
  };
}

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

/** Creates the `alertmanager-webhook` channel "oncall" to `url` for the tenant of `key`; its id. */
export async function oncallChannel(program: Program, key: string, url: string): Promise<string> {
  const reply = await program.post("/v1/channels", { name: "oncall", type: "alertmanager-webhook", url }, {
    key,
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return (reply.body as { id: string }).id;
}
