/**
 * The query role's series index: loaded from the `series` table at start, then kept
 * current either by the raw projection of the same process (every series row it writes
 * is added as it is planned) or, where the raw projection runs in other processes, by
 * reading the table's rows of the last two days again every `refreshMs`. A refresh is
 * cheap to repeat because adding a series and day already held changes nothing. It holds
 * the series of the last `days` days (`SeriesIndex`), and drops what a new day moved out
 * every `pruneMs`.
 *
 * @example
 * const opened = await openSeriesIndex(store, { fedInProcess: false, refreshMs: 15_000 });
 * prometheusRoutes({ store, catalog: opened.index, … });
 * opened.close();
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { SeriesIndex } from "../read-models/series-index.ts";
import { loadSeriesCatalog } from "../read-models/series-table-catalog.ts";

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface SeriesIndexOptions {
  /** The raw projection in this process feeds the index; no refresh from the table. */
  readonly fedInProcess: boolean;
  readonly refreshMs: number;
  /** Days of series held (today included); without it, every series is kept. */
  readonly days?: number;
  readonly pruneMs?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

export interface OpenedSeriesIndex {
  readonly index: SeriesIndex;
  close(): void;
}

export async function openSeriesIndex(
  store: AnalyticsStore,
  options: SeriesIndexOptions,
): Promise<OpenedSeriesIndex> {
  const now = options.now ?? Date.now;
  const index = new SeriesIndex({ days: options.days, now });
  await loadSeriesCatalog(store, index, Math.max(0, index.firstDay()));
  const pruning = options.days === undefined
    ? undefined
    : setInterval(() => index.prune(), options.pruneMs ?? PRUNE_EVERY_MS);
  const stopPruning = () => clearInterval(pruning);
  if (options.fedInProcess) return { index, close: stopPruning };
  const onError = options.onError ?? ((e) => console.error(`series index refresh: ${e}`));
  let running = false;
  const timer = setInterval(() => {
    // A slow refresh is not stacked on by the next tick.
    if (running) return;
    running = true;
    loadSeriesCatalog(store, index, Math.floor(now() / DAY_MS) - 1)
      .catch(onError)
      .finally(() => running = false);
  }, options.refreshMs);
  return { index, close: () => (clearInterval(timer), stopPruning()) };
}
