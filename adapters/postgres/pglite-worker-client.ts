/**
 * PGlite in a Worker of its own. PGlite runs Postgres compiled to WASM, and each query
 * runs synchronously on the thread that owns it: on the main thread, an incident storm's
 * thousands of statements would hold up ingest and every other request until they are
 * done. In a Worker they run beside the event loop (on another core where there is one);
 * the caller keeps PGlite's full client (`query`, `transaction`, `exec`, drizzle),
 * whose protocol messages cross to the Worker (PGlite's documented `PGliteWorker`).
 *
 * @example
 * const { db, close } = await startPgliteWorker("./data/pglite");
 * await db.query("select 1");
 * await close();
 */
import type { PGliteInterface } from "@electric-sql/pglite";
import { PGliteWorker } from "@electric-sql/pglite/worker";

const CLOSE_TIMEOUT_MS = 30_000;

export interface PgliteInWorker {
  readonly db: PGliteInterface;
  /** Shuts the database down in the Worker, then ends the Worker. */
  close(): Promise<void>;
}

/** Opens `dataDir` (in memory without one) in a new Worker. */
export async function startPgliteWorker(dataDir: string | undefined): Promise<PgliteInWorker> {
  const thread = new Worker(new URL("./pglite-worker.ts", import.meta.url), { type: "module" });
  // A distinct id per database: PGlite elects one leader per id, and two in-memory
  // databases would otherwise share one.
  const db = await PGliteWorker.create(thread, { dataDir, id: crypto.randomUUID() });
  return {
    db,
    async close() {
      const closed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        thread.addEventListener("message", (event) => {
          if (event.data?.type !== "lookout:closed") return;
          clearTimeout(timer);
          resolve();
        });
      });
      thread.postMessage({ type: "lookout:close" });
      await closed;
      await db.close();
    },
  };
}
