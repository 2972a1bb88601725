/**
 * The batch slot of each series a request has added so far, by its 64-bit id, so a
 * format that repeats a series (Influx lines, OTLP points, NDJSON lines of one series)
 * appends to one slot instead of adding the series again.
 *
 * An open-addressed table over typed arrays: a series id is already a uniform hash,
 * and a `Map` keyed by the low word (a number above 2^31 is a heap number, not a small
 * integer) cost about 0.8 µs per series in a 10k-line body; this costs a few array
 * reads.
 *
 * @example
 * const slots = new SeriesSlots();
 * let slot = slots.get(id.lo, id.hi);
 * if (slot < 0) slots.set(id.lo, id.hi, slot = builder.addSeries(def));
 */
export class SeriesSlots {
  #lo: Uint32Array;
  #hi: Uint32Array;
  /** Slot + 1; 0 marks an empty entry. */
  #slot: Int32Array;
  #mask: number;
  #size = 0;

  constructor(capacity = 64) {
    let entries = 16;
    while (entries < capacity * 2) entries *= 2;
    this.#lo = new Uint32Array(entries);
    this.#hi = new Uint32Array(entries);
    this.#slot = new Int32Array(entries);
    this.#mask = entries - 1;
  }

  /** The slot of the series, or -1 when it has none yet. */
  get(lo: number, hi: number): number {
    const mask = this.#mask;
    for (let i = lo & mask;; i = (i + 1) & mask) {
      const slot = this.#slot[i];
      if (slot === 0) return -1;
      if (this.#lo[i] === lo && this.#hi[i] === hi) return slot - 1;
    }
  }

  /** Gives a series without a slot (`get` answered -1) its slot. */
  set(lo: number, hi: number, slot: number): void {
    if ((this.#size + 1) * 2 > this.#slot.length) this.#grow();
    this.#place(lo >>> 0, hi >>> 0, slot + 1);
    this.#size++;
  }

  #place(lo: number, hi: number, slotPlusOne: number): void {
    const mask = this.#mask;
    let i = lo & mask;
    while (this.#slot[i] !== 0) i = (i + 1) & mask;
    this.#lo[i] = lo;
    this.#hi[i] = hi;
    this.#slot[i] = slotPlusOne;
  }

  #grow(): void {
    const lo = this.#lo;
    const hi = this.#hi;
    const slot = this.#slot;
    const entries = slot.length * 2;
    this.#lo = new Uint32Array(entries);
    this.#hi = new Uint32Array(entries);
    this.#slot = new Int32Array(entries);
    this.#mask = entries - 1;
    for (let i = 0; i < slot.length; i++) {
      if (slot[i] !== 0) this.#place(lo[i], hi[i], slot[i]);
    }
  }
}
