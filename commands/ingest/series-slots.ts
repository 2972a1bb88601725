/**
 * The batch slot of each series a request has added so far, by its 64-bit id, so a
 * format that repeats a series (Influx lines, OTLP points, NDJSON lines of one series)
 * appends to one slot instead of adding the series again.
 *
 * An open-addressed table in one typed array, four words an entry (slot + 1, id low,
 * id high, unused), so a probe reads one cache line rather than one per column: a
 * series id is already a uniform hash, and a `Map` keyed by the low word (a number
 * above 2^31 is a heap number, not a small integer) cost about 0.8 µs per series in a
 * 10k-line body. A table is made per request: one kept from request to request measured
 * slower (about 9 % of the decode of a 10k-line body), its lines no longer in the cache
 * when the next request probes them, while a new one is written as it grows.
 *
 * @example
 * const slots = new SeriesSlots();
 * let slot = slots.get(id.lo, id.hi);
 * if (slot < 0) slots.set(id.lo, id.hi, slot = builder.addSeries(def));
 */
const WORDS = 4;
/** Slot + 1; 0 marks an empty entry. */
const SLOT = 0;
const LO = 1;
const HI = 2;

export class SeriesSlots {
  #entries: Uint32Array;
  /** Entries minus one, a power of two minus one. */
  #mask: number;
  #size = 0;

  constructor(capacity = 64) {
    let entries = 16;
    while (entries < capacity * 2) entries *= 2;
    this.#entries = new Uint32Array(entries * WORDS);
    this.#mask = entries - 1;
  }

  /** The slot of the series, or -1 when it has none yet. */
  get(lo: number, hi: number): number {
    const entries = this.#entries;
    const mask = this.#mask;
    lo >>>= 0;
    hi >>>= 0;
    for (let i = lo & mask;; i = (i + 1) & mask) {
      const at = i * WORDS;
      const slot = entries[at + SLOT];
      if (slot === 0) return -1;
      if (entries[at + LO] === lo && entries[at + HI] === hi) return slot - 1;
    }
  }

  /** Gives a series without a slot (`get` answered -1) its slot. */
  set(lo: number, hi: number, slot: number): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    this.#place(this.#entries, lo >>> 0, hi >>> 0, slot + 1);
    this.#size++;
  }

  #place(entries: Uint32Array, lo: number, hi: number, slotPlusOne: number): void {
    const wrap = entries.length - 1;
    let at = (lo & this.#mask) * WORDS;
    while (entries[at + SLOT] !== 0) at = (at + WORDS) & wrap;
    entries[at + SLOT] = slotPlusOne;
    entries[at + LO] = lo;
    entries[at + HI] = hi;
  }

  #grow(): void {
    const old = this.#entries;
    const entries = new Uint32Array(old.length * 2);
    this.#entries = entries;
    this.#mask = old.length / WORDS * 2 - 1;
    for (let at = 0; at < old.length; at += WORDS) {
      if (old[at + SLOT] !== 0) this.#place(entries, old[at + LO], old[at + HI], old[at + SLOT]);
    }
  }
}
