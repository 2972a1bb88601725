import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../../domain/alerting/duration.ts";
import { compileRule, evaluationWindow, levelFor } from "../../domain/alerting/rule.ts";
import { renderAnnotations, renderTemplate } from "../../domain/alerting/template.ts";
import { ValidationError } from "../../domain/errors.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

Deno.test("duration: Prometheus notation, largest unit first", () => {
  const cases: [string, number | undefined][] = [
    ["0s", 0],
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1w", 604_800_000],
    ["250ms", 250],
    ["1s500ms", 1_500],
    ["", undefined],
    ["30", undefined],
    ["1s1m", undefined],
    ["1m1m", undefined],
    ["-5s", undefined],
    ["1.5s", undefined],
    ["5s ", undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  for (const ms of [0, 250, 1_500, 90_000, 3_600_000, 694_861_001]) {
    assert.equal(parseDuration(formatDuration(ms)), ms, `round trip ${ms}`);
  }
});

Deno.test("rule: compile turns durations into ms and rejects bad ones with the field", () => {
  const rule = compileRule("r1", "acme", cpuHighSpec({ evaluationDelay: "15s" }));
  assert.deepEqual(
    [rule.windowMs, rule.forMs, rule.keepFiringForMs, rule.noDataMs, rule.evaluationDelayMs],
    [60_000, 30_000, 0, 600_000, 15_000],
  );
  assert.deepEqual(evaluationWindow(rule, 1_000_000), { from: 925_000, to: 985_000 });
  assert.throws(
    () => compileRule("r1", "acme", cpuHighSpec({ window: "0s" })),
    (e) => e instanceof ValidationError && /window "0s" must be at least 1 ms/.test(e.message),
  );
  assert.throws(
    () => compileRule("r1", "acme", cpuHighSpec({ for: "soon" })),
    /for "soon" is not a duration/,
  );
});

Deno.test("rule: threshold consistency depends on the direction of the comparison", () => {
  assert.throws(
    () => compileRule("r", "t", cpuHighSpec({ condition: { op: "<", critical: 10, criticalRecovery: 5 } })),
    /criticalRecovery 5 must not be below critical 10/,
  );
  assert.throws(
    () => compileRule("r", "t", cpuHighSpec({ condition: { op: ">", critical: 90, warning: 95 } })),
    /warning 95 must not be above critical 90/,
  );
  assert.throws(
    () => compileRule("r", "t", cpuHighSpec({ condition: { op: ">", critical: 90, warningRecovery: 5 } })),
    /warningRecovery needs condition.warning/,
  );
  assert.throws(
    () => compileRule("r", "t", cpuHighSpec({ condition: { op: ">", critical: Number.NaN } })),
    /condition.critical must be a finite number/,
  );
});

Deno.test("rule: levelFor at each boundary for >= with recovery", () => {
  const c = { op: ">=" as const, critical: 90, criticalRecovery: 80, warning: 70 };
  assert.equal(levelFor(c, undefined, 90), "critical");
  assert.equal(levelFor(c, undefined, 89.9), "warning");
  assert.equal(levelFor(c, "critical", 80), "critical");
  assert.equal(levelFor(c, "critical", 79.9), "warning");
  assert.equal(levelFor(c, "warning", 69.9), undefined);
  assert.equal(levelFor(c, undefined, Number.NaN), undefined);
});

Deno.test("template: labels and fields fill placeholders; unknown names render empty", () => {
  assert.equal(
    renderTemplate("CPU high on {{host}} ({{ value }})", { host: "web-1", value: "93" }),
    "CPU high on web-1 (93)",
  );
  assert.equal(renderTemplate("{{missing}}|{{constructor}}|{{ host", { host: "h" }), "||{{ host");
  assert.deepEqual(renderAnnotations({ summary: "{{a}}{{a}}", runbook: "x" }, { a: "1" }), {
    summary: "11",
    runbook: "x",
  });
});
