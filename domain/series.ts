/**
 * Series identity: a metric name plus its labels, scoped to a tenant, hashed to a
 * stable 64-bit id.
 *
 * The id is computed over the UTF-8 bytes of the canonical form
 * `tenant \0 metric \0 name1 \0 value1 \0 name2 \0 value2 ...` with labels sorted by
 * name (code-unit order). Two 32-bit MurmurHash3 (x86_32) lanes with the seeds
 * 0x4c4f4f4b ("LOOK", low word) and 0x4f555421 ("OUT!", high word) make the 64 bits.
 * Nothing in it depends on the process, the platform or the order labels arrived in,
 * so every ingest node and every restart computes the same id.
 *
 * @example
 * const id = seriesId("acme", "cpu_usage", { host: "a", mode: "user" });
 * id.hex // "…16 hex digits…", id.lo / id.hi are the two 32-bit words
 */
export type Labels = Readonly<Record<string, string>>;

export interface SeriesId {
  /** Low 32 bits (unsigned). */
  readonly lo: number;
  /** High 32 bits (unsigned). */
  readonly hi: number;
  /** The 64-bit id as 16 lower-case hex digits, high word first. */
  readonly hex: string;
}

export interface SeriesDef {
  readonly id: SeriesId;
  readonly metric: string;
  readonly labels: Labels;
  /** The series as a sample record encodes it (`encodeSeriesDef`), when already known. */
  readonly wire?: Uint8Array;
}

const SEED_LO = 0x4c4f4f4b;
const SEED_HI = 0x4f555421;
const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

/** The canonical string a series id is hashed from. */
export function canonicalSeries(tenant: string, metric: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  let out = tenant + "\0" + metric;
  for (const name of names) out += "\0" + name + "\0" + labels[name];
  return out;
}

export function seriesId(tenant: string, metric: string, labels: Labels): SeriesId {
  const canonical = canonicalSeries(tenant, metric, labels);
  if (scratch.length < canonical.length * 3) scratch = new Uint8Array(canonical.length * 3);
  const { written } = encoder.encodeInto(canonical, scratch);
  return makeSeriesId(murmur3(scratch, written, SEED_LO), murmur3(scratch, written, SEED_HI));
}

/** A series id from its two words; the hex form is computed when first read. */
export function makeSeriesId(lo: number, hi: number): SeriesId {
  return new Id(lo >>> 0, hi >>> 0);
}

class Id implements SeriesId {
  #hex?: string;
  constructor(readonly lo: number, readonly hi: number) {}
  get hex(): string {
    return this.#hex ??= this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
}

/** Parses the decimal form ClickHouse prints for a UInt64 into a SeriesId. */
export function seriesIdFromDecimal(decimal: string): SeriesId {
  const n = BigInt(decimal);
  return makeSeriesId(Number(n & 0xffffffffn), Number(n >> 32n));
}

export function seriesIdToDecimal(id: SeriesId): string {
  return seriesWordsToDecimal(id.lo, id.hi);
}

/** `seriesIdToDecimal` from the id's two words. */
export function seriesWordsToDecimal(lo: number, hi: number): string {
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The log partition of a series: every sample of a series lands in one partition. */
export function partitionOf(id: SeriesId, partitions: number): number {
  return partitionOfWords(id.lo, id.hi, partitions);
}

/** `partitionOf` from the id's two words. */
export function partitionOfWords(lo: number, hi: number, partitions: number): number {
  return ((lo ^ hi) >>> 0) % partitions;
}

/** MurmurHash3 x86_32 over the first `length` bytes. */
export function murmur3(bytes: Uint8Array, length: number, seed: number): number {
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks];
    if (tail > 1) k ^= bytes[blocks + 1] << 8;
    if (tail > 2) k ^= bytes[blocks + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
