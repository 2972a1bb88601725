/**
 * The streaming evaluation's hot path (the typed-array window ring, the per-series memory
 * of the groups a series feeds, the state stepped in place) against the straightforward
 * way: every sample kept, every rule matched per sample, the pure `stepGroup`. Seeded.
 */
import assert from "node:assert/strict";
import { type GroupState, initialGroupState, stepGroup } from "../../domain/alerting/alert-state.ts";
import { GroupWindow } from "../../domain/alerting/group-window.ts";
import { groupOf, matches } from "../../domain/alerting/rule-index.ts";
import {
  type AlertRule,
  compileRule,
  RULE_AGGREGATIONS,
  type RuleAggregation,
} from "../../domain/alerting/rule.ts";
import { type GroupTransition, StreamingEvaluation } from "../../domain/alerting/streaming-evaluation.ts";
import { type SampleBatch, SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";
import { NaiveWindow } from "../support/naive-window.ts";
import { type SeededRandom, seededRandom } from "../support/seeded-random.ts";

const T0 = 1_700_000_000_000;

/** Timestamps mostly in order, some late, some far behind, some jumps ahead. */
function nextTimestamp(random: SeededRandom, clock: { now: number }): number {
  const r = random.next();
  if (r < 0.05) clock.now += random.int(60_000, 400_000);
  else clock.now += random.int(0, 3_000);
  if (r > 0.97) return clock.now - random.int(100_000, 900_000);
  if (r > 0.7) return clock.now - random.int(0, 40_000);
  return clock.now;
}

function close(actual: number | undefined, expected: number | undefined, agg: RuleAggregation): boolean {
  if (actual === undefined || expected === undefined || !agg.startsWith("p")) return actual === expected;
  return Math.abs(actual - expected) <= 0.011 * Math.abs(expected) + 1e-9;
}

for (const seed of [1, 2, 3, 4, 5]) {
  Deno.test(`group window: the same aggregates as every sample kept (seed ${seed})`, () => {
    const random = seededRandom(seed);
    for (const agg of RULE_AGGREGATIONS) {
      const windowMs = random.int(1, 12) * 10_000 + random.int(0, 7);
      const ring = new GroupWindow(windowMs, agg);
      const naive = new NaiveWindow(windowMs, agg);
      const clock = { now: T0 };
      for (let i = 0; i < 2_000; i++) {
        const ts = nextTimestamp(random, clock);
        // Integers, so sums are exact in any order; a few NaN, which both ignore.
        const value = random.next() < 0.02 ? Number.NaN : random.int(1, 200);
        ring.add(ts, value);
        naive.add(ts, value);
        const at = clock.now - random.int(0, windowMs);
        const [got, want] = [ring.aggregate(at), naive.aggregate(at)];
        assert.ok(close(got, want, agg), `seed ${seed}, ${agg}, sample ${i}: ${got} vs ${want}`);
        assert.equal(ring.newest, naive.newest);
      }
    }
  });
}

interface NaiveGroup {
  readonly rule: AlertRule;
  readonly labels: Readonly<Record<string, string>>;
  readonly window: NaiveWindow;
  state: GroupState;
  lastAt: number;
}

/** Every rule matched against every sample, groups by key, stepped with the pure `stepGroup`. */
class NaiveEvaluation {
  readonly groups = new Map<string, NaiveGroup>();

  constructor(public rules: readonly AlertRule[]) {}

  /** An unchanged rule keeps its groups; a changed or removed one loses them. */
  setRules(rules: readonly AlertRule[]): void {
    const kept = new Map(rules.map((r) => [r.id, JSON.stringify(r.spec)]));
    for (const [key, g] of this.groups) {
      if (kept.get(g.rule.id) !== JSON.stringify(g.rule.spec)) this.groups.delete(key);
    }
    this.rules = rules;
  }

  observeAndEvaluate(batch: SampleBatch): string[] {
    const touched = new Set<NaiveGroup>();
    for (let i = 0; i < batch.length; i++) {
      const series = batch.series[batch.seriesIndex[i]];
      for (const rule of this.rules) {
        if (rule.tenant !== batch.tenant || rule.metric !== series.metric) continue;
        if (!matches(rule, series.labels)) continue;
        const group = groupOf(rule, series.labels);
        const key = `${rule.id}\u0000${group.key}`;
        let g = this.groups.get(key);
        if (g === undefined) {
          const window = new NaiveWindow(rule.windowMs, rule.agg);
          g = {
            rule,
            labels: group.labels,
            window,
            state: initialGroupState(batch.timestamps[0]),
            lastAt: -Infinity,
          };
          this.groups.set(key, g);
        }
        g.window.add(batch.timestamps[i], batch.values[i]);
        touched.add(g);
      }
    }
    return [...touched].filter((g) => g.window.newest > g.lastAt).flatMap((g) =>
      this.#step(g, g.window.newest)
    );
  }

  tick(now: number): string[] {
    return [...this.groups.values()].flatMap((g) => this.#step(g, Math.max(now, g.lastAt)));
  }

  #step(g: NaiveGroup, at: number): string[] {
    const step = stepGroup(g.rule, g.state, { at, value: g.window.aggregate(at - g.rule.evaluationDelayMs) });
    g.state = step.state;
    g.lastAt = at;
    return step.transitions.map((t) => show(g.rule.id, g.labels, t));
  }
}

function show(ruleId: string, labels: Readonly<Record<string, string>>, t: GroupTransition["transition"]) {
  return JSON.stringify([ruleId, labels, t]);
}
const shown = (ts: GroupTransition[]) => ts.map((t) => show(t.rule.id, t.group.labels, t.transition)).sort();

function randomRules(random: SeededRandom): AlertRule[] {
  return Array.from({ length: 12 }, (_, i) => {
    const filters: Record<string, string> = {};
    if (random.next() < 0.7) filters.host = `h${random.int(0, 5)}`;
    if (random.next() < 0.5) filters.service = random.next() < 0.5 ? "api" : "web";
    const critical = random.int(90, 140);
    const warning = critical - random.int(10, 30);
    return compileRule(
      `r${i}`,
      random.next() < 0.9 ? "acme" : "other",
      cpuHighSpec({
        metric: random.next() < 0.8 ? "cpu_usage" : "mem_usage",
        filters,
        agg: random.shuffled(RULE_AGGREGATIONS.filter((a) => !a.startsWith("p")))[0],
        window: `${random.int(1, 9) * 10}s`,
        by: random.next() < 0.5 ? ["host"] : ["service", "host"],
        condition: {
          op: ">",
          critical,
          criticalRecovery: critical - random.int(0, 20),
          warning,
          warningRecovery: warning - random.int(0, 10),
        },
        for: `${random.int(0, 3) * 10}s`,
        keepFiringFor: `${random.int(0, 2) * 10}s`,
        noData: random.next() < 0.5 ? undefined : `${random.int(1, 5)}m`,
        evaluationDelay: `${random.int(0, 1) * 5}s`,
      }),
    );
  });
}

function randomBatch(random: SeededRandom, clock: { now: number }): SampleBatch {
  const tenant = random.next() < 0.9 ? "acme" : "other";
  const builder = new SampleBatchBuilder(tenant);
  const count = random.int(1, 6);
  for (let s = 0; s < count; s++) {
    const metric = random.next() < 0.8 ? "cpu_usage" : "mem_usage";
    // Now and then a host of many, so the evaluation's tables of series and groups grow.
    const host = random.next() < 0.2 ? `h${random.int(8, 3_000)}` : `h${random.int(0, 7)}`;
    const labels = { host, service: random.next() < 0.5 ? "api" : "web" };
    const index = builder.addSeries({ id: seriesId(tenant, metric, labels), metric, labels });
    for (let i = random.int(1, 3); i > 0; i--) {
      builder.addSample(index, nextTimestamp(random, clock), random.int(0, 200));
    }
  }
  return builder.build();
}

for (const seed of [11, 12, 13, 14, 15]) {
  Deno.test(`streaming evaluation: the same transitions as the straightforward evaluation (seed ${seed})`, () => {
    const random = seededRandom(seed);
    const all = randomRules(random);
    const present = new Set(all.map((_, i) => i));
    let rules = all;
    const evaluation = new StreamingEvaluation(rules);
    const naive = new NaiveEvaluation(rules);
    const clock = { now: T0 };
    let transitions = 0;
    for (let b = 0; b < 1_500; b++) {
      const batch = randomBatch(random, clock);
      evaluation.observe(batch);
      const got = shown(evaluation.evaluate());
      assert.deepEqual(got, naive.observeAndEvaluate(batch).sort(), `seed ${seed}, batch ${b}`);
      transitions += got.length;
      if (random.next() < 0.01) {
        // Rules change: one gets a new threshold, one is dropped or comes back.
        const [changed, toggled] = random.shuffled(all.map((_, i) => i));
        const r = all[changed];
        all[changed] = compileRule(r.id, r.tenant, {
          ...r.spec,
          condition: { ...r.spec.condition, critical: r.spec.condition.critical + random.int(1, 20) },
        });
        if (!present.delete(toggled)) present.add(toggled);
        rules = all.filter((_, i) => present.has(i));
        evaluation.setRules(rules);
        naive.setRules(rules);
        assert.equal(evaluation.groupCount, naive.groups.size, `seed ${seed}, rules changed after ${b}`);
      }
      if (random.next() < 0.05) {
        const now = clock.now + random.int(0, 300_000);
        assert.deepEqual(
          shown(evaluation.tick(now)),
          naive.tick(now).sort(),
          `seed ${seed}, tick after ${b}`,
        );
      }
    }
    assert.equal(evaluation.groupCount, naive.groups.size);
    assert.ok(transitions > 20, `seed ${seed}: only ${transitions} transitions, too few to compare`);
  });
}
