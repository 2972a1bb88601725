/**
 * The body of the Worker that owns an embedded PGlite database (started by
 * `startPgliteWorker`): PGlite's own worker protocol (`@electric-sql/pglite/worker`) for
 * queries, plus a `lookout:close` message that shuts the database down cleanly, since
 * `PGliteWorker.close()` only terminates the thread.
 */
import { PGlite } from "@electric-sql/pglite";
import { worker } from "@electric-sql/pglite/worker";

// This module runs as a Worker; Deno types it with the window globals.
const scope = globalThis as unknown as { postMessage(message: unknown): void };
let opened: Promise<PGlite> | undefined;

addEventListener("message", async (event) => {
  if ((event as MessageEvent).data?.type !== "lookout:close") return;
  try {
    await (await opened)?.close();
  } finally {
    scope.postMessage({ type: "lookout:closed" });
  }
});

await worker({
  init: (options) => opened = PGlite.create(options.dataDir),
});
