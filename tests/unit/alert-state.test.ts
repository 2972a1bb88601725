import assert from "node:assert/strict";
import {
  advanceGroup,
  type AlertStatus,
  type AlertTransition,
  type GroupState,
  initialGroupState,
  type MutableGroupState,
  stepGroup,
} from "../../domain/alerting/alert-state.ts";
import { compileRule, type RuleSpec } from "../../domain/alerting/rule.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

const T0 = 1_700_000_000_000;

/**
 * One evaluation: seconds after T0, the window aggregate (undefined: no sample), the
 * status after it and the transitions it produced, each as `type` or `type:level`.
 */
type Step = [seconds: number, value: number | undefined, status: AlertStatus, transitions?: string[]];

function label(t: AlertTransition): string {
  switch (t.type) {
    case "AlertPending":
    case "AlertFired":
      return `${t.type}:${t.data.level}`;
    case "AlertEscalated":
      return `${t.type}:${t.data.from}>${t.data.to}`;
    case "AlertResolved":
      return `${t.type}:${t.data.reason}`;
    case "AlertCancelled":
    case "AlertNoData":
    case "AlertFlapping":
      return t.type;
  }
}

function table(name: string, spec: Partial<RuleSpec>, steps: Step[]): void {
  Deno.test(`alert state: ${name}`, () => {
    const rule = compileRule("r1", "acme", cpuHighSpec(spec));
    let state: GroupState = initialGroupState(T0);
    steps.forEach(([seconds, value, status, transitions = []], row) => {
      const at = T0 + seconds * 1000;
      const step = stepGroup(rule, state, { at, value });
      assert.deepEqual(step.transitions.map(label), transitions, `row ${row} (t=${seconds}s): transitions`);
      assert.equal(step.state.status, status, `row ${row} (t=${seconds}s): status`);
      for (const t of step.transitions) assert.equal(t.metadata.at, at, `row ${row}: transition time`);
      state = step.state;
    });
  });
}

// Prometheus `for`: pending at the first breach, firing at the first evaluation at
// least `for` later with the condition still holding.
table("inactive=>pending=>firing after for=30s", {}, [
  [0, 50, "inactive"],
  [10, 95, "pending", ["AlertPending:critical"]],
  [20, 95, "pending"],
  [30, 95, "pending"],
  [40, 96, "firing", ["AlertFired:critical"]],
  [50, 97, "firing"],
]);

table("pending=>inactive: a clear evaluation resets the for timer", {}, [
  [0, 95, "pending", ["AlertPending:critical"]],
  [20, 60, "inactive", ["AlertCancelled"]],
  [30, 95, "pending", ["AlertPending:critical"]],
  [50, 95, "pending"],
  [60, 95, "firing", ["AlertFired:critical"]],
]);

table("for=0s fires on the first breach", { for: "0s" }, [
  [0, 91, "firing", ["AlertFired:critical"]],
  [10, 50, "resolved", ["AlertResolved:recovered"]],
]);

// Hysteresis: critical above 90 until at or below 80; warning above 75 until at or below 70.
table("hysteresis: firing=>firing while between threshold and recovery", { for: "0s" }, [
  [0, 91, "firing", ["AlertFired:critical"]],
  [10, 85, "firing"],
  [20, 80.5, "firing"],
  [30, 78, "firing", ["AlertEscalated:critical>warning"]],
  [40, 72, "firing"],
  [50, 70, "resolved", ["AlertResolved:recovered"]],
  [60, 85, "firing", ["AlertFired:warning"]],
  [70, 90.5, "firing", ["AlertEscalated:warning>critical"]],
]);

table("hysteresis does not apply before the group is active", { for: "0s" }, [
  [0, 85, "firing", ["AlertFired:warning"]],
  [10, 72, "firing"],
  [20, 69, "resolved", ["AlertResolved:recovered"]],
  [30, 72, "resolved"],
]);

table("pending keeps its start when the level changes", {}, [
  [0, 80, "pending", ["AlertPending:warning"]],
  [20, 95, "pending"],
  [30, 95, "firing", ["AlertFired:critical"]],
]);

table("keepFiringFor=30s holds the alert after the condition clears", { for: "0s", keepFiringFor: "30s" }, [
  [0, 95, "firing", ["AlertFired:critical"]],
  [10, 50, "firing"],
  [20, 95, "firing"],
  [30, 50, "firing"],
  [50, 50, "firing"],
  [60, 50, "resolved", ["AlertResolved:recovered"]],
]);

table("firing=>inactive=>firing", { for: "0s" }, [
  [0, 95, "firing", ["AlertFired:critical"]],
  [10, 10, "resolved", ["AlertResolved:recovered"]],
  [20, 95, "firing", ["AlertFired:critical"]],
]);

// Three fires within the 10-minute flapping window: the third marks the group flapping
// and the alert then resolves only after ten quiet minutes.
table("flapping: firing=>resolved=>firing=>… becomes one held alert", { for: "0s" }, [
  [0, 95, "firing", ["AlertFired:critical"]],
  [10, 10, "resolved", ["AlertResolved:recovered"]],
  [20, 95, "firing", ["AlertFired:critical"]],
  [30, 10, "resolved", ["AlertResolved:recovered"]],
  [40, 95, "firing", ["AlertFired:critical", "AlertFlapping"]],
  [50, 10, "firing"],
  [60, 95, "firing"],
  [70, 10, "firing"],
  [669, 10, "firing"],
  [670, 10, "resolved", ["AlertResolved:recovered"]],
  [680, 95, "firing", ["AlertFired:critical"]],
]);

table("fires spread wider than the flapping window do not flap", { for: "0s" }, [
  [0, 95, "firing", ["AlertFired:critical"]],
  [10, 10, "resolved", ["AlertResolved:recovered"]],
  [300, 95, "firing", ["AlertFired:critical"]],
  [310, 10, "resolved", ["AlertResolved:recovered"]],
  [601, 95, "firing", ["AlertFired:critical"]],
  [611, 10, "resolved", ["AlertResolved:recovered"]],
]);

// noData=10m: gaps shorter than that change nothing; then the group alerts as no-data,
// and samples coming back resolve the no-data alert before being evaluated.
table("no-data: firing=>nodata=>resolved=>pending", {}, [
  [0, 95, "pending", ["AlertPending:critical"]],
  [30, 95, "firing", ["AlertFired:critical"]],
  [60, undefined, "firing"],
  [629, undefined, "firing"],
  [630, undefined, "nodata", ["AlertNoData"]],
  [700, undefined, "nodata"],
  [710, 95, "pending", ["AlertResolved:data returned", "AlertPending:critical"]],
]);

table("no-data counts from the start of tracking for a group that never reported", {}, [
  [599, undefined, "inactive"],
  [600, undefined, "nodata", ["AlertNoData"]],
  [610, 10, "resolved", ["AlertResolved:data returned"]],
]);

table("without noData a gap is a clear evaluation", { noData: undefined, for: "0s" }, [
  [0, 95, "firing", ["AlertFired:critical"]],
  [10, undefined, "resolved", ["AlertResolved:recovered"]],
  [3600, undefined, "resolved"],
]);

table("NaN is no data; +Inf breaches", { for: "0s" }, [
  [0, Number.POSITIVE_INFINITY, "firing", ["AlertFired:critical"]],
  [10, Number.NaN, "firing"],
  [20, 5, "resolved", ["AlertResolved:recovered"]],
]);

table("op < alerts below the threshold", {
  for: "0s",
  condition: { op: "<", critical: 10, criticalRecovery: 20 },
}, [
  [0, 15, "inactive"],
  [10, 9, "firing", ["AlertFired:critical"]],
  [20, 15, "firing"],
  [30, 20, "resolved", ["AlertResolved:recovered"]],
]);

Deno.test("alert state: a transition's cause names the aggregate, the value and the threshold", () => {
  const rule = compileRule("r1", "acme", cpuHighSpec({ for: "0s" }));
  const step = stepGroup(rule, initialGroupState(T0), { at: T0, value: 93.5 });
  assert.equal(step.transitions[0].metadata.cause, "avg(cpu_usage) = 93.5 > 90 (critical)");
});

Deno.test("alert state: advanceGroup steps the state in place, changing only what the step changes", () => {
  const rule = compileRule("r1", "acme", cpuHighSpec({ for: "30s" }));
  const state: MutableGroupState = { ...initialGroupState(T0) };
  const out: AlertTransition[] = [];
  advanceGroup(rule, state, T0 + 10_000, 50, out);
  assert.deepEqual(out, [], "a quiet step has no transition");
  assert.deepEqual(state, { ...initialGroupState(T0), lastSampleAt: T0 + 10_000 });
  advanceGroup(rule, state, T0 + 20_000, 95, out);
  const pure = stepGroup(rule, { ...initialGroupState(T0), lastSampleAt: T0 + 10_000 }, {
    at: T0 + 20_000,
    value: 95,
  });
  assert.deepEqual(out, pure.transitions);
  assert.deepEqual(state, pure.state, "the same state as the pure step");
  assert.equal(state.status, "pending");
});
