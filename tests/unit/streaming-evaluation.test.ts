import assert from "node:assert/strict";
import { GroupWindow } from "../../domain/alerting/group-window.ts";
import { incidentCommandFor } from "../../domain/alerting/incident-mapping.ts";
import { compileRule, type RuleAggregation, type RuleSpec } from "../../domain/alerting/rule.ts";
import { type GroupTransition, StreamingEvaluation } from "../../domain/alerting/streaming-evaluation.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

const T0 = 1_700_000_040_000;

Deno.test("group window: each aggregate over (at − window, at], to the slot", () => {
  const samples: [number, number][] = [[T0 - 70_000, 1000], [T0 - 30_000, 5], [T0 - 10_000, 1], [T0, 3], [
    T0 - 5_000,
    9,
  ]];
  const windowOf = (agg: RuleAggregation) => {
    const w = new GroupWindow(60_000, agg, 10);
    for (const [ts, v] of samples) w.add(ts, v);
    w.add(T0, Number.NaN);
    return w;
  };
  const expected: [RuleAggregation, number][] = [["count", 4], ["sum", 18], ["avg", 4.5], ["min", 1], [
    "max",
    9,
  ], [
    "last",
    3,
  ]];
  for (const [agg, value] of expected) assert.equal(windowOf(agg).aggregate(T0), value, agg);
  // The order statistic at rank floor(0.99 × 3) = 2 of [1, 3, 5, 9], within the sketch's 1%.
  const p99 = windowOf("p99").aggregate(T0)!;
  assert.ok(Math.abs(p99 - 5) <= 0.05, `p99 ${p99}`);
  const count = windowOf("count");
  assert.equal(count.aggregate(T0 - 20_000), 1, "an earlier instant sees only what was in its window");
  assert.equal(count.aggregate(T0 + 120_000), undefined, "an empty window has no value");
  count.add(T0 - 600_000, 7);
  assert.equal(count.aggregate(T0 - 560_000), undefined, "a sample older than every kept slot is dropped");
  assert.equal(count.aggregate(T0), 4);
  count.add(T0 + 120_000, 2);
  assert.equal(count.aggregate(T0 + 120_000), 1, "a later slot replaces the one at its ring position");
  const last = new GroupWindow(60_000, "last");
  last.add(T0, 5);
  last.add(T0, 7);
  last.add(T0, 6);
  assert.equal(last.aggregate(T0), 7, "on equal timestamps the greater value is last");
});

function batch(
  tenant: string,
  samples: [metric: string, labels: Record<string, string>, ts: number, value: number][],
) {
  const builder = new SampleBatchBuilder(tenant);
  const index = new Map<string, number>();
  for (const [metric, labels, ts, value] of samples) {
    const key = JSON.stringify([metric, labels]);
    let s = index.get(key);
    if (s === undefined) {
      s = builder.addSeries({ id: seriesId(tenant, metric, labels), metric, labels });
      index.set(key, s);
    }
    builder.addSample(s, ts, value);
  }
  return builder.build();
}

const rule = (spec: Partial<RuleSpec> = {}, id = "r1") =>
  compileRule(id, "acme", cpuHighSpec({ for: "0s", noData: undefined, window: "30s", ...spec }));
const show = (ts: GroupTransition[]) =>
  ts.map((t) => `${t.rule.id}:${t.group.labels.host}:${t.transition.type}`);

Deno.test("streaming evaluation: only matching series of the tenant feed a rule, per group", () => {
  const evaluation = new StreamingEvaluation([rule()]);
  evaluation.observe(batch("acme", [
    ["cpu_usage", { service: "api", host: "a" }, T0, 95],
    ["cpu_usage", { service: "api", host: "a", core: "1" }, T0, 97],
    ["cpu_usage", { service: "api", host: "b" }, T0, 50],
    ["cpu_usage", { service: "web", host: "c" }, T0, 99],
    ["mem_usage", { service: "api", host: "d" }, T0, 99],
  ]));
  evaluation.observe(batch("globex", [["cpu_usage", { service: "api", host: "e" }, T0, 99]]));
  const transitions = evaluation.evaluate();
  assert.deepEqual(show(transitions), ["r1:a:AlertFired"]);
  assert.equal(transitions[0].transition.type === "AlertFired" && transitions[0].transition.data.value, 96);
  assert.deepEqual(transitions[0].group.labels, { host: "a" });
  assert.equal(evaluation.groupCount, 2, "groups a and b; c, d and globex match nothing");
  assert.deepEqual(evaluation.evaluate(), [], "nothing touched since");
});

Deno.test("streaming evaluation: a group is stepped once per batch at its newest event time", () => {
  const evaluation = new StreamingEvaluation([rule({ for: "20s" })]);
  evaluation.observe(batch("acme", [
    ["cpu_usage", { service: "api", host: "a" }, T0, 95],
    ["cpu_usage", { service: "api", host: "a" }, T0 + 25_000, 95],
  ]));
  assert.deepEqual(
    show(evaluation.evaluate()),
    ["r1:a:AlertPending"],
    "one step at T0+25s: pending, not yet fired",
  );
  evaluation.observe(batch("acme", [["cpu_usage", { service: "api", host: "a" }, T0 + 45_000, 96]]));
  assert.deepEqual(show(evaluation.evaluate()), ["r1:a:AlertFired"]);
  evaluation.observe(batch("acme", [["cpu_usage", { service: "api", host: "a" }, T0 + 10_000, 10]]));
  assert.deepEqual(evaluation.evaluate(), [], "a late sample does not step the group back in time");
});

Deno.test("streaming evaluation: a tick resolves a group whose window emptied", () => {
  const evaluation = new StreamingEvaluation([rule()]);
  evaluation.observe(batch("acme", [["cpu_usage", { service: "api", host: "a" }, T0, 95]]));
  evaluation.evaluate();
  assert.deepEqual(show(evaluation.tick(T0 + 20_000)), [], "still inside the window");
  assert.deepEqual(show(evaluation.tick(T0 + 31_000)), ["r1:a:AlertResolved"]);
});

Deno.test("streaming evaluation: an unchanged rule keeps its groups; a changed one starts afresh", () => {
  const evaluation = new StreamingEvaluation([rule(), rule({}, "r2")]);
  evaluation.observe(batch("acme", [["cpu_usage", { service: "api", host: "a" }, T0, 95]]));
  assert.deepEqual(show(evaluation.evaluate()), ["r1:a:AlertFired", "r2:a:AlertFired"]);
  evaluation.setRules([rule(), rule({ condition: { op: ">", critical: 99 } }, "r2")]);
  assert.equal(evaluation.groupCount, 1);
  evaluation.observe(batch("acme", [["cpu_usage", { service: "api", host: "a" }, T0 + 1_000, 100]]));
  assert.deepEqual(show(evaluation.evaluate()), ["r2:a:AlertFired"], "r1 was firing already; r2 fires anew");
  evaluation.setRules([]);
  assert.equal(evaluation.groupCount, 0);
});

Deno.test("incident mapping: fired, escalated and no-data fire; resolved resolves; the rest stay in the alert", () => {
  const r = rule();
  const group = { key: '["a"]', labels: { host: "a" } };
  const at = T0;
  const map = (transition: GroupTransition["transition"]) =>
    incidentCommandFor({ rule: r, group, transition }, "inc");
  const fired = map({
    type: "AlertFired",
    data: { level: "warning", value: 80, activeSince: at },
    metadata: { at, cause: "c" },
  });
  assert.deepEqual(fired, {
    type: "FireIncident",
    data: {
      incidentId: "inc",
      tenant: "acme",
      ruleId: "r1",
      ruleName: "cpu_high",
      severity: "page",
      labels: { host: "a" },
      level: "warning",
      value: 80,
    },
    metadata: { who: "evaluator", why: "c", at },
  });
  const escalated = map({
    type: "AlertEscalated",
    data: { from: "warning", to: "critical", value: 95 },
    metadata: { at, cause: "c" },
  });
  assert.equal(escalated?.type === "FireIncident" && escalated.data.level, "critical");
  const noData = map({ type: "AlertNoData", data: { lastSampleAt: at }, metadata: { at, cause: "c" } });
  assert.equal(noData?.type === "FireIncident" && noData.data.level, "nodata");
  assert.equal(
    map({ type: "AlertResolved", data: { value: 1, reason: "recovered" }, metadata: { at, cause: "c" } })
      ?.type,
    "ResolveIncident",
  );
  assert.equal(
    map({ type: "AlertPending", data: { level: "critical", value: 95 }, metadata: { at, cause: "c" } }),
    undefined,
  );
});

Deno.test("streaming evaluation: among 10,000 per-host rules a series feeds only its own, plus unfiltered ones", () => {
  const rules = Array.from(
    { length: 10_000 },
    (_, i) => rule({ filters: { host: `h${i}` }, by: [], condition: { op: ">", critical: i } }, `host-${i}`),
  );
  rules.push(rule({ filters: {}, by: ["host"] }, "all"));
  const evaluation = new StreamingEvaluation(rules);
  evaluation.observe(batch("acme", [
    ["cpu_usage", { host: "h7", service: "api" }, T0, 95],
    ["cpu_usage", { host: "h9999", service: "api" }, T0, 9_998],
  ]));
  assert.deepEqual(
    evaluation.evaluate().map((t) => t.rule.id).sort(),
    ["all", "all", "host-7"].sort(),
    "h9999 at 9998 is not above its threshold 9999; h7 at 95 is above 7",
  );
  assert.equal(evaluation.groupCount, 4);
});
