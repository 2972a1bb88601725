/**
 * What a rebuild compares between a live read model and its rebuilt shadow: per table,
 * one query of a few figures that differ when any row is missing, extra or changed
 * (rollup tables are compared after merging their partial rows, so two tables holding
 * the same buckets in different parts compare equal; raw samples are read FINAL, one row
 * per series and timestamp, whether or not a repeat has merged away yet).
 *
 * @example
 * const [live] = await store.query(rebuildSummaries.rollup.summary("rollup_1m"));
 */
export interface ModelSummaries {
  readonly tables: readonly string[];
  /** Tables derived from the model's, emptied by a rebuild rather than compared. */
  readonly cleared?: readonly string[];
  readonly summary: (table: string) => string;
}

const rollupSummary = (table: string) =>
  `SELECT count() AS buckets, sum(n) AS samples, round(sum(total), 6) AS total,
    round(sum(low), 6) AS min, round(sum(high), 6) AS max
  FROM (SELECT sum(count) AS n, sum(sum) AS total, min(min) AS low, max(max) AS high
    FROM ${table} GROUP BY tenant, series_id, bucket)`;

export const rebuildSummaries: Readonly<Record<"raw" | "rollup", ModelSummaries>> = {
  raw: {
    tables: ["samples", "series"],
    summary: (table) =>
      table.startsWith("samples")
        ? `SELECT count() AS rows, uniqExact(tenant, series_id, ts) AS distinct,
            countIf(isNaN(value)) AS nan, round(sumIf(value, isFinite(value)), 6) AS total
            FROM ${table} FINAL`
        : `SELECT uniqExact(tenant, series_id) AS series, uniqExact(tenant, series_id, day) AS days FROM ${table}`,
  },
  rollup: {
    tables: ["rollup_1m", "rollup_1h", "late_samples"],
    // Packed from the rebuilt 1h tier again by the compactor.
    cleared: ["rollup_1h_by_day", "rollup_1h_by_day_through"],
    summary: (table) =>
      table.startsWith("late_samples")
        ? `SELECT count() AS rows, uniqExact(tenant, series_id, ts) AS distinct FROM ${table}`
        : rollupSummary(table),
  },
};
