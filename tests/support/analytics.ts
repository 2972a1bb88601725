/**
 * One in-process ClickHouse engine per test process: chDB allows a single data
 * directory per process, so every test module in a process shares this store and
 * isolates itself by tenant and projection names instead.
 */
import { openClickHouseStore } from "../../adapters/clickhouse/clickhouse-store.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { ensureSchema } from "../../read-models/schema.ts";

let shared: Promise<AnalyticsStore> | undefined;

export function sharedStore(): Promise<AnalyticsStore> {
  shared ??= (async () => {
    const store = openClickHouseStore({ path: `/tmp/lookout-test-chdb-${Deno.pid}` });
    await ensureSchema(store);
    return store;
  })();
  return shared;
}

/** A name no other test in this process uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Deterministic PRNG (mulberry32) so a failing workload can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
