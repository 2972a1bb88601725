/**
 * zod schemas at the edges of the rule commands: the HTTP body of a rule, and rule
 * events as decoded from the event store (stored JSON is input too). Shape only; the
 * domain (`compileRule`) checks that durations parse and thresholds agree.
 *
 * @example
 * const spec = parseRuleSpec(await c.req.json()); // throws ValidationError with the field
 */
import { z } from "zod";
import { decodeStored } from "../stored-event.ts";
import { ValidationError } from "../../domain/errors.ts";
import { isValidLabelName, isValidMetricName } from "../../domain/label-rules.ts";
import { COMPARISONS, RULE_AGGREGATIONS, type RuleSpec } from "../../domain/alerting/rule.ts";
import type { RuleEvent } from "../../domain/alerting/rule-stream.ts";
import type { StoredEvent } from "../../domain/ports/event-store.ts";

const labelName = z.string().refine(isValidLabelName, "must be a label name such as host or service_name");
const labels = z.record(labelName, z.string().max(2048));
const duration = z.string().min(1).max(32);

export const RuleSpecSchema = z.object({
  name: z.string().min(1).max(256),
  metric: z.string().refine(isValidMetricName, "must be a metric name such as cpu_usage"),
  filters: labels.default({}),
  agg: z.enum(RULE_AGGREGATIONS),
  window: duration,
  by: z.array(labelName).max(30).default([]),
  condition: z.object({
    op: z.enum(COMPARISONS),
    critical: z.number(),
    criticalRecovery: z.number().optional(),
    warning: z.number().optional(),
    warningRecovery: z.number().optional(),
  }).strict(),
  for: duration.default("0s"),
  keepFiringFor: duration.default("0s"),
  noData: duration.optional(),
  evaluationDelay: duration.default("0s"),
  severity: z.string().min(1).max(64).default("page"),
  labels: labels.default({}),
  annotations: z.record(z.string().min(1).max(256), z.string().max(16_384)).default({}),
  channels: z.array(z.string().min(1).max(256)).max(32).default([]),
  mode: z.enum(["streaming", "polling"]).default("polling"),
  notify: z.object({
    groupBy: z.array(labelName).max(30).optional(),
    groupWait: duration.optional(),
    groupInterval: duration.optional(),
    repeatInterval: duration.optional(),
  }).strict().optional(),
}).strict();

export function parseRuleSpec(input: unknown, action = "accept rule"): RuleSpec {
  const result = RuleSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ValidationError(`Cannot ${action}: ${issue.path.join(".") || "body"}: ${issue.message}`);
}

const Metadata = z.object({ who: z.string(), why: z.string(), at: z.number() }).passthrough();
const Ref = { ruleId: z.string(), tenant: z.string() };
const StoredRuleEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("RuleCreated"),
    data: z.object({ ...Ref, spec: RuleSpecSchema }),
    metadata: Metadata,
  }),
  z.object({
    type: z.literal("RuleUpdated"),
    data: z.object({ ...Ref, spec: RuleSpecSchema }),
    metadata: Metadata,
  }),
  z.object({ type: z.literal("RuleDeleted"), data: z.object(Ref), metadata: Metadata }),
]);

export const RULE_EVENT_TYPES: ReadonlySet<string> = new Set(["RuleCreated", "RuleUpdated", "RuleDeleted"]);

/** A rule event from the store; a malformed one is a ValidationError naming its position. */
export function decodeRuleEvent(stored: StoredEvent): RuleEvent {
  return decodeStored(StoredRuleEvent, stored, "rule") as RuleEvent;
}
