/**
 * The alert path on its own thread with the command log on Kafka: the program runs every
 * role in one process on a broker of the test's own, so its alert Worker opens a Kafka
 * client of its own for `metrics.samples` and `metrics.commands`. A streaming rule created
 * through the API reaches that Worker through the log, a breaching series posted to
 * ingest fires, and a real HTTP receiver gets exactly one firing notification; the
 * incident the Worker projected is listed by the API on the main thread.
 */
import assert from "node:assert/strict";
import { KafkaProcess } from "../support/kafka-process.ts";
import { kafkaAvailable } from "../support/kafka-broker.ts";
import { withProgram } from "../support/program.ts";
import { ALERTING_TEST_ENV, cpuHighSpec, oncallChannel } from "../support/rule-spec.ts";
import { waitFor } from "../support/wait-for.ts";
import { webhookReceiver } from "../support/webhook-receiver.ts";

const KEY = "acme-kafka-alert-key-7d21";

interface AlertsBody {
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
}

Deno.test({
  name:
    "kafka: the alert thread's own Kafka client evaluates a rule from the log and sends one firing notification",
  ignore: !kafkaAvailable,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const broker = await KafkaProcess.start();
  const hook = webhookReceiver<AlertsBody>();
  try {
    await withProgram({
      tenants: { acme: KEY },
      env: { ...ALERTING_TEST_ENV, LOOKOUT_KAFKA_BROKERS: broker.brokers },
    }, async (program) => {
      const channel = await oncallChannel(program, KEY, hook.url);
      const spec = cpuHighSpec({ for: "0s", window: "30s", noData: undefined, channels: [channel] });
      const rule = await program.post("/v1/rules", spec, { key: KEY });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));

      // Until the Worker has the rule from metrics.commands, samples find no rule; keep
      // the one series breaching until it fires.
      const start = Date.now() - 60_000;
      for (let i = 0; hook.received.length === 0; i++) {
        assert.ok(i < 120, "no firing notification within 60 s of breaching samples");
        const reply = await program.post("/v1/samples", {
          metric: "cpu_usage",
          labels: { service: "api", host: "web-1" },
          timestamps: [start + i * 500],
          values: [97],
        }, { key: KEY });
        assert.equal(reply.status, 202, JSON.stringify(reply.body));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(
        hook.received.map((r) => [r.body.status, r.body.alerts.map((a) => [a.status, a.labels.host])]),
        [["firing", [["firing", "web-1"]]]],
        "exactly one firing notification",
      );
      const listed = await waitFor(
        async () => {
          const reply = await program.get("/v1/incidents", KEY);
          const { incidents } = reply.body as {
            incidents: { status: string; labels: Record<string, string> }[];
          };
          return incidents.length === 1 ? incidents : undefined;
        },
        10_000,
        { what: "the incident in the API" },
      );
      assert.deepEqual(listed.map((i) => [i.status, i.labels.host]), [["firing", "web-1"]]);
    });
  } catch (error) {
    console.error(`---- broker output ----\n${broker.output()}`);
    throw error;
  } finally {
    await hook.close();
    await broker.dispose();
  }
});
