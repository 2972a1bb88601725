/**
 * The closed horizon of a tenant: the instant before which its raw samples can only
 * change by late data, which the rollup projection records in `late_samples`.
 *
 * It is the earliest per-partition rollup watermark of the tenant (from the latest
 * batch plan in `projection_progress`, rounded down to the 1-minute window as the
 * lateness rule is), and only while the raw projection has committed everything the
 * rollup has planned: otherwise a sample already counted as on time by the rollups
 * could still be missing from raw. A partition without a watermark for the tenant
 * accepts any timestamp as on time, so the horizon is then −∞ (nothing is closed).
 */
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";

const WINDOW_MS = 60_000;

export interface HorizonSources {
  readonly store: AnalyticsStore;
  /** Consumer name of the rollup projection in `projection_progress`. */
  readonly rollupConsumer: string;
  /** Next offset the raw projection will read, per partition. */
  readonly rawCommitted: () => Promise<ReadonlyMap<number, number>>;
}

export async function closedHorizon(sources: HorizonSources, tenant: string): Promise<number> {
  const rows = await sources.store.query<{ partition: number; last: string | number; state: string }>(
    `SELECT partition, max(last_offset) AS last, argMax(state_after, last_offset) AS state
     FROM projection_progress WHERE consumer = {consumer:String} GROUP BY partition`,
    { consumer: sources.rollupConsumer },
  );
  const committed = await sources.rawCommitted();
  if (committed.size === 0) return -Infinity;
  const byPartition = new Map(rows.map((r) => [Number(r.partition), r]));
  let horizon = Infinity;
  for (const [partition, next] of committed) {
    const row = byPartition.get(partition);
    if (!row || next <= Number(row.last)) return -Infinity;
    const watermark = (JSON.parse(row.state || "{}") as Record<string, (number | null)[]>)[tenant]?.[1];
    if (watermark === undefined || watermark === null) return -Infinity;
    horizon = Math.min(horizon, Math.floor(watermark / WINDOW_MS) * WINDOW_MS);
  }
  return horizon;
}

/** The tenant's newest late-sample receipt time in ms (0 when it has none). */
export async function lateMark(store: AnalyticsStore, tenant: string): Promise<number> {
  const rows = await store.query<{ mark: string | number }>(
    `SELECT toUnixTimestamp64Milli(max(received)) AS mark FROM late_samples WHERE tenant = {tenant:String}`,
    { tenant },
  );
  return Number(rows[0]?.mark ?? 0);
}
