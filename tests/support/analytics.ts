/**
 * One in-process ClickHouse engine per test process: chDB allows a single data
 * directory per process, so every test module in a process shares this store and
 * isolates itself by tenant and projection names instead.
 */
import { openClickHouseStore, stagingDirectory } from "../../adapters/clickhouse/clickhouse-store.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { ensureSchema } from "../../read-models/schema.ts";

let shared: Promise<AnalyticsStore> | undefined;

export function sharedStore(): Promise<AnalyticsStore> {
  shared ??= (async () => {
    const path = `/tmp/lookout-test-chdb-${Deno.pid}`;
    const store = openClickHouseStore({ path });
    globalThis.addEventListener("unload", () => {
      for (const dir of [path, stagingDirectory(path)]) {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch { /* already gone */ }
      }
    });
    await ensureSchema(store);
    return store;
  })();
  return shared;
}

/** A name no other test in this process uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
