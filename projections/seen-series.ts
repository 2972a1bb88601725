/**
 * The day each series was last written to `series`, so the raw projection writes a
 * series row once per series and day; keyed by the id's words so the hot loop builds
 * no strings, bounded, evicting the oldest entries first.
 *
 * @example
 * const seen = new SeenSeries(2_000_000);
 * for (const s of seen.newer(tenant, seriesWords(record), lastDay)) series.add(tenant, record.series[s], lastDay[s]);
 */
import { sameWords } from "../domain/typed-arrays.ts";

/** Series tables remembered whole; past this many they are forgotten at once. */
const TABLES_REMEMBERED = 65_536;

interface RecordedTable {
  readonly tenant: string;
  /** (lo, hi) word pairs of the table's series, in order. */
  readonly ids: Uint32Array;
  /** Every series of the table is recorded for this day or a newer one. */
  readonly day: number;
}

export class SeenSeries {
  readonly #byTenant = new Map<string, Map<number, { hi: number; day: number }[]>>();
  readonly #tables = new Map<number, RecordedTable>();
  #size = 0;

  constructor(private readonly limit: number) {}

  /**
   * Indexes of the record's series (`ids`: their (lo, hi) word pairs) whose newest sample (`lastDay[s]`, negative for none)
   * falls on a day newer than recorded; records those days. A record whose series table
   * equals one already recorded up to a day not older than any of its samples is
   * answered without a look-up per series: agents send the same series every interval.
   */
  newer(tenant: string, ids: Uint32Array, lastDay: Float64Array): number[] {
    const count = ids.length / 2;
    let fingerprint = 0;
    let newest = -1;
    let oldest = Infinity;
    for (let s = 0; s < count; s++) {
      fingerprint = Math.imul(fingerprint ^ ids[2 * s], 0x9e3779b1) ^ Math.imul(ids[2 * s + 1], 0x85ebca6b);
      if (lastDay[s] > newest) newest = lastDay[s];
      if (lastDay[s] < oldest) oldest = lastDay[s];
    }
    const known = this.#tables.get(fingerprint);
    if (known && known.tenant === tenant && newest <= known.day && sameWords(known.ids, ids)) return [];
    const out: number[] = [];
    for (let s = 0; s < count; s++) {
      if (lastDay[s] >= 0 && this.markNewer(tenant, ids[2 * s], ids[2 * s + 1], lastDay[s])) out.push(s);
    }
    // Every series is now recorded for a day no older than `oldest`; a table with a
    // series that had no sample is not remembered.
    if (oldest >= 0) {
      if (this.#tables.size >= TABLES_REMEMBERED) this.#tables.clear();
      this.#tables.set(fingerprint, { tenant, ids, day: oldest });
    }
    return out;
  }

  /** Records `day` for the series and says whether it is newer than what was recorded. */
  markNewer(tenant: string, lo: number, hi: number, day: number): boolean {
    let byLo = this.#byTenant.get(tenant);
    if (!byLo) this.#byTenant.set(tenant, byLo = new Map());
    const entries = byLo.get(lo);
    const entry = entries?.find((e) => e.hi === hi);
    if (entry) {
      if (entry.day >= day) return false;
      entry.day = day;
      return true;
    }
    if (this.#size >= this.limit) this.#evict();
    if (entries) entries.push({ hi, day });
    else byLo.set(lo, [{ hi, day }]);
    this.#size++;
    return true;
  }

  #evict(): void {
    for (const byLo of this.#byTenant.values()) {
      const oldest = byLo.keys().next();
      if (oldest.done) continue;
      this.#size -= byLo.get(oldest.value)!.length;
      byLo.delete(oldest.value);
      return;
    }
  }
}
