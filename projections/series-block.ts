/**
 * Rows for the `series` table as a Native block: metric, id, day and the labels as two
 * parallel `Array(String)` columns (names, values) that the insert turns into the Map
 * column with `mapFromArrays`. Writing the block cost a fraction of the same rows as
 * JSONEachRow, which ClickHouse parsed at about 130k rows/s.
 *
 * @example
 * const series = new SeriesBlockBuilder();
 * series.add("acme", def, day);
 * store.insertBlock(series.build(), [seriesInsert(series.tenants, token)]);
 */
import type { BlockInsert, ColumnBlock } from "../domain/ports/analytics-store.ts";
import type { SeriesDef } from "../domain/series.ts";
import { grownCopy } from "../domain/typed-arrays.ts";
import { tenantArraySql, tenantIndex } from "./sample-block.ts";

export class SeriesBlockBuilder {
  readonly tenants: string[] = [];
  readonly #metrics: string[] = [];
  readonly #labelNames: string[] = [];
  readonly #labelValues: string[] = [];
  #tenantIx = new Uint16Array(64);
  #ids = new Uint32Array(128);
  #days = new Uint16Array(64);
  #labelEnds = new Uint32Array(64);
  #rows = 0;

  get rows(): number {
    return this.#rows;
  }

  /** One row: `def` seen on `day` (days since the epoch). */
  add(tenant: string, def: SeriesDef, day: number): void {
    const row = this.#rows++;
    if (row === this.#days.length) this.#grow();
    this.#tenantIx[row] = tenantIndex(this.tenants, tenant);
    this.#ids[2 * row] = def.id.lo;
    this.#ids[2 * row + 1] = def.id.hi;
    this.#days[row] = day;
    this.#metrics.push(def.metric);
    const labels = def.labels;
    for (const name in labels) {
      this.#labelNames.push(name);
      this.#labelValues.push(labels[name]);
    }
    this.#labelEnds[row] = this.#labelNames.length;
  }

  build(): ColumnBlock {
    return {
      rows: this.#rows,
      columns: [
        { name: "tenant_ix", type: "UInt16", data: this.#tenantIx },
        { name: "metric", type: "String", data: this.#metrics },
        { name: "series_id", type: "UInt64", data: this.#ids },
        { name: "label_names", type: "Array(String)", ends: this.#labelEnds, data: this.#labelNames },
        { name: "label_values", type: "Array(String)", ends: this.#labelEnds, data: this.#labelValues },
        { name: "day", type: "Date", data: this.#days },
      ],
    };
  }

  #grow(): void {
    const size = 2 * this.#days.length;
    this.#tenantIx = grownCopy(this.#tenantIx, size);
    this.#ids = grownCopy(this.#ids, 2 * size);
    this.#days = grownCopy(this.#days, size);
    this.#labelEnds = grownCopy(this.#labelEnds, size);
  }
}

/** Inserts a {@link SeriesBlockBuilder} block; `tenants` in `tenant_ix` order. */
export function seriesInsert(
  tenants: readonly string[],
  deduplicationToken: string,
  table = "series",
): BlockInsert {
  return {
    sql: `INSERT INTO ${table} (tenant, metric, series_id, labels, day)
      SELECT ${tenantArraySql(tenants)}[tenant_ix + 1], metric, series_id,
        mapFromArrays(label_names, label_values), day
      FROM {source}`,
    deduplicationToken,
  };
}
