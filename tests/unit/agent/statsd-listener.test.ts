import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { StatsdListener } from "../../../adapters/agent/statsd-listener.ts";
import { StatsdAggregator } from "../../../domain/agent/statsd.ts";
import { waitFor } from "../../support/wait-for.ts";

Deno.test({
  name: "statsd over UDP: counters and timers of an interval come out as its values",
  sanitizeResources: false,
  async fn() {
    const aggregator = new StatsdAggregator();
    const listener = await StatsdListener.listen({ host: "127.0.0.1", port: 0 }, aggregator);
    const client = createSocket("udp4");
    try {
      const datagrams = [
        "jobs.done:1|c|#queue:mail",
        "jobs.done:1|c|#queue:mail\njobs.done:3|c|@0.5|#queue:mail",
        "jobs.latency:100|ms\njobs.latency:300|ms",
        "jobs.latency:200|ms",
      ];
      for (const d of datagrams) {
        await new Promise<void>((resolve, reject) =>
          client.send(d, listener.port, "127.0.0.1", (error) => (error ? reject(error) : resolve()))
        );
      }
      let samples = aggregator.flush();
      await waitFor(
        () => {
          samples.push(...aggregator.flush());
          return Promise.resolve(
            samples.find((s) => s.metric === "jobs_latency_count")?.value === 3 &&
              samples.find((s) => s.metric === "jobs_done")?.value === 8,
          );
        },
        5000,
        { what: "all datagrams to arrive" },
      );
      const value = (metric: string) => samples.filter((s) => s.metric === metric).map((s) => s.value);
      assert.deepEqual(value("jobs_done"), [1 + 1 + 6]);
      assert.deepEqual(samples.find((s) => s.metric === "jobs_done")?.labels, { queue: "mail" });
      assert.deepEqual(value("jobs_latency_sum"), [600]);
      assert.deepEqual(value("jobs_latency_min"), [100]);
      assert.deepEqual(value("jobs_latency_max"), [300]);
      samples = [];
      assert.deepEqual(aggregator.flush(), [], "the next interval starts empty");
    } finally {
      client.close();
      listener.close();
    }
  },
});
