/**
 * The agent program's wiring (`deno task agent`, or the binary `deno task agent:compile`
 * builds): the only place of the agent that reads flags, environment and its config
 * file. See `config.ts` for the settings.
 *
 * deno run -A adapters/agent/main.ts --url http://lookout:8080 --api-key KEY [--statsd 127.0.0.1:8125]
 */
import { hostname } from "node:os";
import { join } from "node:path";
import type { AgentSample } from "../../domain/agent/native-batch.ts";
import { StatsdAggregator } from "../../domain/agent/statsd.ts";
import { Telemetry } from "../telemetry.ts";
import { Agent } from "./agent.ts";
import { parseAgentConfig } from "./config.ts";
import { DiskQueue } from "./disk-queue.ts";
import { HostCollector } from "./host-collector.ts";
import { Scraper } from "./scraper.ts";
import { StatsdListener } from "./statsd-listener.ts";

async function main(): Promise<void> {
  const config = parseAgentConfig(Deno.args, Deno.env.toObject(), Deno.readTextFileSync);
  if (Array.isArray(config)) {
    for (const problem of config) console.error(`Invalid agent configuration: ${problem}`);
    Deno.exit(2);
  }
  const telemetry = new Telemetry();
  const queue = await DiskQueue.open({ dir: join(config.dataDir, "queue"), maxBytes: config.queueMaxBytes });
  const host = config.host ? new HostCollector() : undefined;
  const scraper = config.scrape.length > 0 ? new Scraper({ targets: config.scrape }) : undefined;
  const statsd = config.statsd ? new StatsdAggregator() : undefined;
  const listener = config.statsd && statsd ? await StatsdListener.listen(config.statsd, statsd) : undefined;
  const hostLabels = { job: "node", instance: config.instance ?? hostname(), ...config.labels };

  const collect = async (now: number): Promise<AgentSample[]> => {
    const samples: AgentSample[] = [];
    for (const s of (await host?.collect()) ?? []) {
      samples.push({ ...s, labels: { ...hostLabels, ...s.labels } });
    }
    for (const s of (await scraper?.scrapeAll(now)) ?? []) {
      samples.push({ ...s, labels: { ...config.labels, ...s.labels } });
    }
    for (const s of statsd?.flush() ?? []) samples.push({ ...s, labels: { ...config.labels, ...s.labels } });
    return samples;
  };

  telemetry.gauge(
    "lookout_agent_queue_batches",
    "Batches waiting in the disk queue.",
    () => Promise.resolve([[{}, queue.length]]),
  );
  telemetry.gauge(
    "lookout_agent_queue_bytes",
    "Bytes of the batches in the disk queue.",
    () => Promise.resolve([[{}, queue.bytes]]),
  );
  telemetry.gauge(
    "lookout_agent_dropped_samples_total",
    "Samples dropped because the disk queue was full (oldest first).",
    () => Promise.resolve([[{}, queue.dropped.samples]]),
  );
  telemetry.gauge(
    "lookout_agent_statsd_lines_unused_total",
    "StatsD lines that were not metrics or not valid.",
    () =>
      Promise.resolve([[{ reason: "unsupported" }, statsd?.unsupported ?? 0], [{
        reason: "over_series_limit",
      }, statsd?.dropped ?? 0]]),
  );

  const agent = new Agent({
    url: config.url,
    apiKey: config.apiKey,
    intervalMs: config.interval,
    queue,
    collect,
    telemetry,
  });
  const server = Deno.serve(
    { hostname: config.listen.host, port: config.listen.port, onListen: () => {} },
    async (request) =>
      new URL(request.url).pathname === "/metrics"
        ? new Response(await telemetry.render(), { headers: { "content-type": "text/plain; version=0.0.4" } })
        : new Response("not found", { status: 404 }),
  );
  console.log(
    `lookout-agent: sending to ${config.url} every ${config.interval} ms; queue ${queue.length} batches; ` +
      `metrics on ${config.listen.host}:${server.addr.port}` +
      (listener ? `; statsd on udp ${listener.port}` : ""),
  );
  agent.start();

  const shutdown = async () => {
    listener?.close();
    await agent.stop();
    await server.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", shutdown);
}

if (import.meta.main) await main();
