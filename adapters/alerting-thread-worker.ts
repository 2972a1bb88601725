/**
 * The body of the Worker `AlertingThread` starts: opens the log, the SQL database and
 * the event store with connections of its own, and runs the streaming evaluator, the
 * read-model projector and delivery through `openAlerting`, reporting to the thread that
 * started it (`ThreadMessage`).
 */
import { openAlerting } from "./alerting.ts";
import type { ThreadMessage, ThreadStart } from "./alerting-thread.ts";
import { openLogFrom } from "./open-log.ts";
import { openPgliteOnPort, openPostgres } from "./postgres/sql-client.ts";

// This module runs as a Worker; Deno types it with the window globals.
const scope = globalThis as unknown as {
  postMessage(message: ThreadMessage): void;
  onmessage:
    | ((event: MessageEvent<{ type: "start"; options: ThreadStart } | { type: "stop" }>) => void)
    | null;
};

const describe = (error: unknown) => error instanceof Error ? (error.stack ?? error.message) : String(error);

let stop: (() => Promise<void>) | undefined;

async function start(options: ThreadStart): Promise<void> {
  const log = openLogFrom(options.log, "another");
  const sql = options.pglite
    ? openPgliteOnPort(options.pglite)
    : await openPostgres({ url: options.postgresUrl ?? "" });
  const alerting = await openAlerting({
    dataDir: options.dataDir,
    sql,
    eventStoreUrl: options.eventStoreUrl,
    peers: options.peers,
    log,
    samplePartitions: options.samplePartitions,
    tickMs: options.tickMs,
    webhookAllowNets: options.webhookAllowNets,
    externalUrl: options.externalUrl,
    deliveryBaseDelayMs: options.deliveryBaseDelayMs,
    notificationRate: options.notificationRate,
    now: Date.now,
    run: { project: options.run.project, evaluate: true, poll: false, deliver: options.run.deliver },
    onProjected: (position) => scope.postMessage({ type: "projected", position: String(position) }),
    onError: (error) => scope.postMessage({ type: "error", message: describe(error) }),
  });
  stop = async () => {
    await alerting.close();
    await log.close();
  };
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "start") {
    start(message.options).then(
      () => scope.postMessage({ type: "ready" }),
      (error) => scope.postMessage({ type: "failed", message: describe(error) }),
    );
  } else {
    (stop ?? (() => Promise.resolve()))().then(
      () => scope.postMessage({ type: "stopped" }),
      (error) => {
        scope.postMessage({ type: "error", message: describe(error) });
        scope.postMessage({ type: "stopped" });
      },
    );
  }
};
