/**
 * The streaming evaluator goes first on its thread: `caughtUp`, which the read-model
 * projectors await before each batch, holds them while the evaluator runs behind the
 * log's appends, lets them go once it has caught up, never holds them longer than the
 * wait it was given, and holds no one without streaming rules.
 */
import assert from "node:assert/strict";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { seriesId } from "../../domain/series.ts";
import { StreamingEvaluator } from "../../adapters/streaming-evaluator.ts";
import { sqliteLog } from "../support/pipeline.ts";
import { type AlertRule, compileRule } from "../../domain/alerting/rule.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";
import { waitFor } from "../support/wait-for.ts";

const SAMPLES = "metrics.samples";
const PARTITIONS = 2;

Deno.test("streaming evaluator: caughtUp holds callers while it runs behind the log, for at most their wait", async () => {
  const { log, cleanup } = await sqliteLog();
  let skew = 0;
  const evaluatorWith = (rules: { rule: AlertRule; version: number }[], group = "alerts") =>
    new StreamingEvaluator({
      log,
      group,
      samplesTopic: SAMPLES,
      commandsTopic: "metrics.commands",
      loadRules: () => Promise.resolve(rules),
      record: () => Promise.resolve(),
      // Evaluation seen `skew` ms after the records were appended.
      now: () => Date.now() + skew,
      maxLagMs: 50,
    });
  const evaluator = evaluatorWith([{
    rule: compileRule("r1", "acme", cpuHighSpec({ metric: "load" })),
    version: 1,
  }]);
  const settled = async (p: Promise<void>, ms: number) =>
    await Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  let n = 0;
  const send = async () => {
    const labels = { host: "h1" };
    const b = new SampleBatchBuilder("acme");
    b.addSample(b.addSeries({ id: seriesId("acme", "load", labels), metric: "load", labels }), Date.now(), 1);
    await appendSamples({ log, topic: SAMPLES, partitions: PARTITIONS }, b.build(), `batch-${n++}`);
  };
  const evaluated = () =>
    waitFor(
      async () => {
        const offsets = await log.offsets(SAMPLES, "alerts");
        return offsets.every((o) => (o.committed ?? 0) === o.end) || undefined;
      },
      10_000,
      { what: "the evaluator's commit" },
    );
  try {
    await log.ensureTopic(SAMPLES, PARTITIONS);
    await log.ensureTopic("metrics.commands", 1);
    void evaluator.start();
    await evaluator.positioned;
    assert.ok(await settled(evaluator.caughtUp(60_000), 100), "nothing evaluated yet: nothing to wait for");

    skew = 10_000;
    await send();
    await evaluated();
    const held = evaluator.caughtUp(60_000);
    assert.equal(await settled(held, 300), false, "10 s behind the appends: the caller waits");
    const started = performance.now();
    assert.ok(await settled(evaluator.caughtUp(100), 2_000), "but no longer than its wait");
    assert.ok(performance.now() - started >= 90);

    skew = 0;
    await send();
    assert.ok(await settled(held, 5_000), "caught up: the waiting caller goes on");
    assert.ok(await settled(evaluator.caughtUp(60_000), 100));

    // Without streaming rules there is nothing to go first: nothing is held, however far behind.
    skew = 10_000;
    const ruleless = evaluatorWith([], "alerts-ruleless");
    void ruleless.start();
    try {
      await ruleless.positioned;
      await send();
      await waitFor(
        async () => {
          const offsets = await log.offsets(SAMPLES, "alerts-ruleless");
          return offsets.every((o) => (o.committed ?? 0) === o.end) || undefined;
        },
        10_000,
        { what: "the rule-less evaluator's commit" },
      );
      assert.equal(await settled(evaluator.caughtUp(60_000), 200), false, "the evaluator with a rule holds");
      assert.ok(await settled(ruleless.caughtUp(60_000), 100), "the one without lets go");
    } finally {
      await ruleless.stop();
    }
  } finally {
    await evaluator.stop();
    await cleanup();
  }
});
