/**
 * When the head of recent samples (read-models/recent-samples.ts) starts covering, and
 * what holds it while the raw tables are replaced. It is opened before the raw projector
 * of the process consumes anything: per tenant, the newest sample `samples` holds within
 * the horizon marks where the head's coverage may start, since everything later is
 * written by this process's projector and fed to the head. While a raw rebuild swaps its
 * tables the head is emptied (it covers nothing, so queries go to ClickHouse) and opened
 * again over the rebuilt table before the projector goes on.
 *
 * @example
 * await openRecentSamples(store, head);
 * rebuildTargets.raw = { …, live: holdingRecentSamples(rawProjector, head, store) };
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import type { RecentSamples } from "../read-models/recent-samples.ts";

/** Opens the head after reading, per tenant, the newest sample the table holds since the head's first minute. */
export async function openRecentSamples(store: AnalyticsStore, head: RecentSamples): Promise<void> {
  const rows = await store.query<{ tenant: string; newest: number | string }>(
    `SELECT tenant, toUnixTimestamp64Milli(max(ts)) AS newest FROM samples
     WHERE ts >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY tenant`,
    { since: head.horizon() },
  );
  head.open(new Map(rows.map((r) => [r.tenant, Number(r.newest) + 1])));
}

/** The raw projector held for a rebuild's swap, with the head emptied meanwhile and opened again after. */
export function holdingRecentSamples(
  live: { pause(): Promise<void>; resume(): void },
  head: RecentSamples,
  store: AnalyticsStore,
): { pause(): Promise<void>; resume(): void } {
  return {
    async pause() {
      await live.pause();
      head.reset();
    },
    resume() {
      openRecentSamples(store, head).catch((error) => {
        console.error(`recent samples stay closed: ${error instanceof Error ? error.message : error}`);
      }).finally(() => live.resume());
    },
  };
}
