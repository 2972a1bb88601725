/**
 * One series' recent samples as a list of chunks, each a pair of typed arrays (times in
 * ms, values) in ascending time with no time twice, plus stale-marker flags allocated
 * only for a chunk that holds a marker. A sample newer than the newest is appended; an
 * older one is placed by binary search, splitting a full chunk; a time already held
 * keeps the value written last, the raw table's policy.
 *
 * A new series starts with a small chunk that doubles up to `CHUNK_SAMPLES`, so a series
 * that sends one sample costs little, and a busy one fills whole chunks.
 *
 * @example
 * const samples = new SeriesChunks();
 * samples.add(1_000, 0.5, false); // true: a new sample
 * samples.add(1_000, 0.7, false); // false: the same time again, the value replaced
 * samples.read(0, 2_000, buffer); // 1: the samples in (0, 2000] are at the start of buffer.t, .v, .stale
 */

/** Samples read out of a series: times, values and stale flags, reused from one series to the next. */
export class SampleBuffer {
  t = new Float64Array(0);
  v = new Float64Array(0);
  stale = new Uint8Array(0);

  /** Room for at least `n` samples, keeping the first ones. */
  reserve(n: number): void {
    if (n <= this.t.length) return;
    const size = Math.max(n, 2 * this.t.length, 64);
    const [t, v, stale] = [new Float64Array(size), new Float64Array(size), new Uint8Array(size)];
    t.set(this.t);
    v.set(this.v);
    stale.set(this.stale);
    [this.t, this.v, this.stale] = [t, v, stale];
  }
}

/** Samples of a full chunk. */
export const CHUNK_SAMPLES = 256;
const FIRST_CHUNK = 8;

interface Chunk {
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | undefined;
  n: number;
}

function chunkOf(capacity: number): Chunk {
  return { t: new Float64Array(capacity), v: new Float64Array(capacity), stale: undefined, n: 0 };
}

/** Index of the first time > t in the chunk's samples. */
function after(chunk: Chunk, t: number): number {
  let lo = 0;
  let hi = chunk.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunk.t[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SeriesChunks {
  readonly #chunks: Chunk[] = [];

  /** Samples held. */
  size = 0;

  /** Records one sample; true when its time is new, false when it replaced a value. */
  add(t: number, v: number, stale: boolean): boolean {
    const chunks = this.#chunks;
    const last = chunks[chunks.length - 1];
    if (last === undefined || t > last.t[last.n - 1]) {
      this.#append(t, v, stale);
      return true;
    }
    let c = this.#chunkFor(t);
    let chunk = chunks[c];
    let i = after(chunk, t);
    if (i > 0 && chunk.t[i - 1] === t) {
      setSample(chunk, i - 1, v, stale);
      return false;
    }
    if (chunk.n === chunk.t.length) {
      if (chunk.n < CHUNK_SAMPLES) chunks[c] = chunk = grown(chunk, 2 * chunk.n);
      else {
        const [left, right] = split(chunk);
        chunks.splice(c, 1, left, right);
        if (i > left.n) {
          c++;
          i -= left.n;
        }
        chunk = chunks[c];
      }
    }
    chunk.t.copyWithin(i + 1, i, chunk.n);
    chunk.v.copyWithin(i + 1, i, chunk.n);
    chunk.stale?.copyWithin(i + 1, i, chunk.n);
    chunk.n++;
    setSample(chunk, i, v, stale);
    chunk.t[i] = t;
    this.size++;
    return true;
  }

  /** Drops the samples before `cutoff`; returns how many went. */
  dropBefore(cutoff: number): number {
    const chunks = this.#chunks;
    let whole = 0;
    let dropped = 0;
    while (whole < chunks.length && chunks[whole].t[chunks[whole].n - 1] < cutoff) {
      dropped += chunks[whole].n;
      whole++;
    }
    if (whole > 0) chunks.splice(0, whole);
    const first = chunks[0];
    if (first !== undefined && first.t[0] < cutoff) {
      const k = after(first, cutoff - 1);
      first.t.copyWithin(0, k, first.n);
      first.v.copyWithin(0, k, first.n);
      first.stale?.copyWithin(0, k, first.n);
      first.n -= k;
      dropped += k;
    }
    this.size -= dropped;
    return dropped;
  }

  /** Copies the samples in (from, to] to the start of `into`, growing it as needed; returns how many. */
  read(from: number, to: number, into: SampleBuffer): number {
    const chunks = this.#chunks;
    let k = 0;
    for (let c = chunks.length === 0 ? 0 : this.#chunkFor(from); c < chunks.length; c++) {
      const chunk = chunks[c];
      if (chunk.t[0] > to) break;
      const lo = chunk.t[0] > from ? 0 : after(chunk, from);
      const hi = chunk.t[chunk.n - 1] <= to ? chunk.n : after(chunk, to);
      if (hi <= lo) continue;
      into.reserve(k + hi - lo);
      const { t, v, stale } = into;
      const flags = chunk.stale;
      // Element by element: cheaper than a subarray and a set per chunk for a few hundred samples.
      for (let i = lo; i < hi; i++, k++) {
        t[k] = chunk.t[i];
        v[k] = chunk.v[i];
        stale[k] = flags === undefined ? 0 : flags[i];
      }
    }
    return k;
  }

  #append(t: number, v: number, stale: boolean): void {
    const chunks = this.#chunks;
    let last = chunks[chunks.length - 1];
    if (last === undefined || last.n === CHUNK_SAMPLES) {
      chunks.push(last = chunkOf(last === undefined ? FIRST_CHUNK : CHUNK_SAMPLES));
    } else if (last.n === last.t.length) {
      chunks[chunks.length - 1] = last = grown(last, 2 * last.n);
    }
    last.t[last.n] = t;
    setSample(last, last.n, v, stale);
    last.n++;
    this.size++;
  }

  /** The last chunk whose first time is ≤ t, or the first chunk. */
  #chunkFor(t: number): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid].t[0] <= t) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }
}

function setSample(chunk: Chunk, i: number, v: number, stale: boolean): void {
  chunk.v[i] = v;
  if (stale) (chunk.stale ??= new Uint8Array(chunk.t.length))[i] = 1;
  else if (chunk.stale !== undefined) chunk.stale[i] = 0;
}

function grown(chunk: Chunk, capacity: number): Chunk {
  const next = chunkOf(Math.min(CHUNK_SAMPLES, capacity));
  next.t.set(chunk.t.subarray(0, chunk.n));
  next.v.set(chunk.v.subarray(0, chunk.n));
  if (chunk.stale !== undefined) (next.stale = new Uint8Array(next.t.length)).set(chunk.stale);
  next.n = chunk.n;
  return next;
}

/** A full chunk as two half-full ones. */
function split(chunk: Chunk): [Chunk, Chunk] {
  const half = chunk.n >>> 1;
  const halves = [[0, half], [half, chunk.n]].map(([lo, hi]) => {
    const part = chunkOf(CHUNK_SAMPLES);
    part.t.set(chunk.t.subarray(lo, hi));
    part.v.set(chunk.v.subarray(lo, hi));
    if (chunk.stale !== undefined) {
      (part.stale = new Uint8Array(CHUNK_SAMPLES)).set(chunk.stale.subarray(lo, hi));
    }
    part.n = hi - lo;
    return part;
  });
  return [halves[0], halves[1]];
}
