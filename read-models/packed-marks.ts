/**
 * Per tenant, the hour up to which the 1h tier is packed (`rollup_1h_by_day_through`),
 * as a query service last read it. A mark read earlier is never wrong for a query: it is
 * at most behind the stored one, so the query reads more of its range from `rollup_1h`
 * and answers the same. It is only wrong after a rebuild took the stored mark back, which
 * the statement reading packed rows detects (`PACKED_MARK_HOLDS`); the caller then
 * forgets the tenant's mark, so the query run again reads it anew.
 *
 * A mark is read again once older than `maxAgeMs`; callers at once share one read, and a
 * failed read is not kept. A compactor in the same process hands over each mark it
 * writes (`advance`), so the marks can be held longer and are read from the store less.
 *
 * @example
 * const marks = new PackedMarks((tenant) => readMark(store, tenant), { maxAgeMs: 1_000 });
 * const mark = await marks.get("acme");
 * marks.advance("acme", through); // this process's compactor wrote a mark
 * marks.forget("acme"); // the statement found the mark replaced
 */
export class PackedMarks {
  readonly #read: (tenant: string) => Promise<number>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #marks = new Map<string, { readonly at: number; readonly mark: Promise<number> }>();

  constructor(
    read: (tenant: string) => Promise<number>,
    options: { readonly maxAgeMs?: number; readonly now?: () => number } = {},
  ) {
    this.#read = read;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#now = options.now ?? performance.now.bind(performance);
  }

  get(tenant: string): Promise<number> {
    const at = this.#now();
    const held = this.#marks.get(tenant);
    if (held && at - held.at < this.#maxAgeMs) return held.mark;
    const mark = this.#read(tenant);
    const entry = { at, mark };
    this.#marks.set(tenant, entry);
    mark.catch(() => {
      if (this.#marks.get(tenant) === entry) this.#marks.delete(tenant);
    });
    return mark;
  }

  /** The tenant is packed through `through` now: held as read at this instant, unless a later mark is held. */
  advance(tenant: string, through: number): void {
    const held = this.#marks.get(tenant)?.mark ?? Promise.resolve(through);
    this.#marks.set(tenant, {
      at: this.#now(),
      mark: held.then((mark) => Math.max(mark, through), () => through),
    });
  }

  forget(tenant: string): void {
    this.#marks.delete(tenant);
  }
}
