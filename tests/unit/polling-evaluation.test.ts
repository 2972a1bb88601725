/** Polling evaluation as given/when/then: whole-minute windows moved back by the evaluation delay, and group steps. */
import assert from "node:assert/strict";
import { PollingEvaluation, pollingWindow } from "../../domain/alerting/polling-evaluation.ts";
import { compileRule } from "../../domain/alerting/rule.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

const M = 60_000;
const T = Date.parse("2026-12-01T12:00:00Z");

Deno.test("polling window: whole minutes ending evaluationDelay before the evaluation, the filling minute left out", () => {
  const rule = compileRule(
    "r1",
    "acme",
    cpuHighSpec({ mode: "polling", window: "5m", evaluationDelay: "0s" }),
  );
  assert.deepEqual(pollingWindow(rule, T + 42_000), { from: T - 5 * M, to: T });
  const delayed = compileRule(
    "r2",
    "acme",
    cpuHighSpec({ mode: "polling", window: "90s", evaluationDelay: "10m" }),
  );
  // a 90 s window reads two whole minutes
  assert.deepEqual(pollingWindow(delayed, T + 42_000), { from: T - 12 * M, to: T - 10 * M });
});

Deno.test("polling evaluation: for, a group the rollups stop showing, and a changed rule starting afresh", () => {
  const spec = cpuHighSpec({ mode: "polling", for: "2m", noData: undefined });
  const rule = compileRule("r1", "acme", spec);
  const evaluation = new PollingEvaluation();
  evaluation.setRules([rule]);
  const step = (at: number, groups: [string, number][]) =>
    evaluation.step(rule, at, groups.map(([host, value]) => ({ labels: { host }, value })))
      .map((t) => `${t.transition.type}:${t.group.labels.host}`);
  assert.deepEqual(step(T, [["web-1", 95], ["web-2", 50]]), ["AlertPending:web-1"]);
  assert.deepEqual(step(T + M, [["web-1", 96], ["web-2", 50]]), []);
  assert.deepEqual(step(T + 2 * M, [["web-1", 97], ["web-2", 99]]), [
    "AlertFired:web-1",
    "AlertPending:web-2",
  ]);
  // web-2 vanishes from the rollups: without noData that is a clear evaluation
  assert.deepEqual(step(T + 3 * M, [["web-1", 97]]), ["AlertCancelled:web-2"]);
  // the rule changes: its groups start over, so web-1 is pending again, not firing twice
  const changed = compileRule("r1", "acme", { ...spec, for: "1m" });
  evaluation.setRules([changed]);
  assert.deepEqual(
    evaluation.step(changed, T + 4 * M, [{ labels: { host: "web-1" }, value: 97 }]).map((t) =>
      t.transition.type
    ),
    ["AlertPending"],
  );
});
