/**
 * The first slot of each series id among a batch's slots, so the collector can merge a
 * series added to a batch more than once (spelled two ways on the wire, or decoded
 * without a series cache) when the batch is built (`DecodeCollector.result`).
 *
 * An open-addressed table of two-word entries (the id's low word and slot + 1) in one
 * typed array, the high words apart by slot, read only when a low word matches: a
 * series id is already a uniform hash, and the table is kept small because nearly
 * every look-up is of a series not there yet, whose probe is a cache miss when the
 * table is large. A `Map` keyed by the low word (a number above 2^31 is a heap number,
 * not a small integer) cost about 0.8 µs per series. A table kept from request to
 * request measured slower than one made per request: its lines are no longer in the
 * cache when the next request probes them, while a new one is written as it grows.
 *
 * @example
 * const slots = new SeriesSlots();
 * let slot = slots.get(id.lo, id.hi);
 * if (slot < 0) slots.set(id.lo, id.hi, slot = kept++);
 */
export class SeriesSlots {
  /** Per entry: low word, then slot + 1 (0 marks an empty entry). */
  #entries: Uint32Array;
  /** Entries minus one, a power of two minus one. */
  #mask: number;
  /** The high word of each slot's id. */
  #high: Uint32Array;
  #size = 0;

  constructor(capacity = 64) {
    let entries = 16;
    while (entries < capacity * 2) entries *= 2;
    this.#entries = new Uint32Array(entries * 2);
    this.#mask = entries - 1;
    this.#high = new Uint32Array(Math.max(16, capacity));
  }

  /** The slot of the series, or -1 when it has none yet. */
  get(lo: number, hi: number): number {
    const entries = this.#entries;
    const mask = this.#mask;
    lo >>>= 0;
    for (let i = lo & mask;; i = (i + 1) & mask) {
      const slot = entries[2 * i + 1];
      if (slot === 0) return -1;
      if (entries[2 * i] === lo && this.#high[slot - 1] === hi >>> 0) return slot - 1;
    }
  }

  /** Gives a series without a slot (`get` answered -1) its slot. */
  set(lo: number, hi: number, slot: number): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    if (slot >= this.#high.length) {
      const high = new Uint32Array(Math.max(slot + 1, this.#high.length * 2));
      high.set(this.#high);
      this.#high = high;
    }
    this.#high[slot] = hi;
    this.#place(this.#entries, lo >>> 0, slot + 1);
    this.#size++;
  }

  #place(entries: Uint32Array, lo: number, slotPlusOne: number): void {
    const mask = this.#mask;
    let i = lo & mask;
    while (entries[2 * i + 1] !== 0) i = (i + 1) & mask;
    entries[2 * i] = lo;
    entries[2 * i + 1] = slotPlusOne;
  }

  #grow(): void {
    const old = this.#entries;
    const entries = new Uint32Array(old.length * 2);
    this.#entries = entries;
    this.#mask = old.length - 1;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] !== 0) this.#place(entries, old[at], old[at + 1]);
    }
  }
}
