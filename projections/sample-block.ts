/**
 * Decodes the sample records of a batch one at a time and lays their samples out as
 * one columnar block (`tenant_ix UInt16, series_id UInt64, ts Float64, value Float64`)
 * for ClickHouse, with the batch's tenants as a lookup array. Records that cannot be
 * decoded are set aside for the dead-letter topic.
 *
 * Records are visited one by one so a record's decoded series die young: holding every
 * record of a large batch decoded at once made the garbage collector promote millions
 * of short-lived objects.
 *
 * @example
 * const samples = new SampleBlockBuilder(expectedSamples(batch));
 * const deadLetters = eachSampleRecord(batch, (decoded) => samples.add(decoded));
 * const { block, tenants } = samples.build();
 */
import type { Column, ColumnBlock } from "../domain/ports/analytics-store.ts";
import type { LogRecord, RecordBatch } from "../domain/ports/command-log.ts";
import { type SampleBatch, seriesWords } from "../domain/sample-batch.ts";
import { decodeSampleRecord, MalformedRecord } from "../domain/sample-record.ts";
import { grownCopy } from "../domain/typed-arrays.ts";
import type { DeadLetter } from "./projection.ts";

/** Calls `visit` with each decodable record in order; returns the ones that were not. */
export function eachSampleRecord(
  batch: RecordBatch,
  visit: (samples: SampleBatch, record: LogRecord) => void,
): DeadLetter[] {
  const deadLetters: DeadLetter[] = [];
  for (const record of batch.records) {
    let decoded: SampleBatch;
    try {
      decoded = decodeSampleRecord(record.value);
    } catch (error) {
      if (!(error instanceof MalformedRecord)) throw error;
      deadLetters.push({ record, reason: error.message });
      continue;
    }
    visit(decoded, record);
  }
  return deadLetters;
}

/** A first allocation for a batch's samples: records carry at least 20 bytes per sample. */
export function expectedSamples(batch: RecordBatch): number {
  let bytes = 0;
  for (const record of batch.records) bytes += record.value.byteLength;
  return Math.ceil(bytes / 64);
}

export interface SampleBlock {
  readonly block: ColumnBlock;
  /** Tenants in `tenant_ix` order. */
  readonly tenants: readonly string[];
}

/** The index of `tenant` in `tenants`, appended if new. */
export function tenantIndex(tenants: string[], tenant: string): number {
  const t = tenants.indexOf(tenant);
  return t < 0 ? tenants.push(tenant) - 1 : t;
}

export interface SampleBlockOptions {
  /**
   * Add a `version` column (UInt64) that orders writes: the record's log offset above
   * the sample's index within the record, so of two samples for the same series and
   * timestamp the one written later has the greater version.
   */
  readonly versioned?: boolean;
}

/** Samples a record may hold without their index reaching the offset's bits of a version. */
export const VERSION_INDEX_LIMIT = 2 ** 24;

export class SampleBlockBuilder {
  readonly #tenants: string[] = [];
  readonly #versioned: boolean;
  #tenantIx: Uint16Array;
  #ids: Uint32Array;
  #ts: Float64Array;
  #values: Float64Array;
  #versions: Uint32Array;
  #rows = 0;

  constructor(capacity = 1024, options: SampleBlockOptions = {}) {
    capacity = Math.max(16, capacity);
    this.#tenantIx = new Uint16Array(capacity);
    this.#ids = new Uint32Array(2 * capacity);
    this.#ts = new Float64Array(capacity);
    this.#values = new Float64Array(capacity);
    this.#versioned = options.versioned ?? false;
    this.#versions = new Uint32Array(this.#versioned ? 2 * capacity : 0);
  }

  get rows(): number {
    return this.#rows;
  }

  /**
   * Adds the samples whose flag equals `selected` (all of them when `flags` is undefined);
   * `offset` is the record's log offset, which versions its rows when `versioned`.
   */
  add(batch: SampleBatch, flags?: Uint8Array, selected = 1, offset = 0): void {
    if (this.#rows + batch.length > this.#ts.length) this.#grow(this.#rows + batch.length);
    const t = tenantIndex(this.#tenants, batch.tenant);
    const { seriesIndex, timestamps, values } = batch;
    const words = seriesWords(batch);
    const tenantIx = this.#tenantIx;
    const ids = this.#ids;
    const ts = this.#ts;
    const out = this.#values;
    const first = this.#rows;
    let row = first;
    for (let i = 0; i < batch.length; i++) {
      if (flags !== undefined && flags[i] !== selected) continue;
      const s = seriesIndex[i];
      tenantIx[row] = t;
      ids[2 * row] = words[2 * s];
      ids[2 * row + 1] = words[2 * s + 1];
      ts[row] = timestamps[i];
      out[row] = values[i];
      row++;
    }
    this.#rows = row;
    if (this.#versioned) this.#version(first, batch, flags, selected, offset);
  }

  /**
   * Versions of the rows from `first`: the high word holds offset / 2^8, the low word
   * (offset mod 2^8) · 2^24 + the sample's index in the record, so versions order by
   * (offset, index) for offsets below 2^40 and records of fewer than 2^24 samples.
   */
  #version(
    first: number,
    batch: SampleBatch,
    flags: Uint8Array | undefined,
    selected: number,
    offset: number,
  ) {
    if (batch.length > VERSION_INDEX_LIMIT) {
      throw new RangeError(`Cannot version a record of ${batch.length} samples: over ${VERSION_INDEX_LIMIT}`);
    }
    const hi = Math.floor(offset / 256);
    const base = (offset % 256) * VERSION_INDEX_LIMIT;
    const versions = this.#versions;
    let row = first;
    for (let i = 0; i < batch.length; i++) {
      if (flags !== undefined && flags[i] !== selected) continue;
      versions[2 * row] = base + i;
      versions[2 * row + 1] = hi;
      row++;
    }
  }

  build(): SampleBlock {
    const columns: Column[] = [
      { name: "tenant_ix", type: "UInt16", data: this.#tenantIx },
      { name: "series_id", type: "UInt64", data: this.#ids },
      { name: "ts", type: "Float64", data: this.#ts },
      { name: "value", type: "Float64", data: this.#values },
    ];
    if (this.#versioned) columns.push({ name: "version", type: "UInt64", data: this.#versions });
    return { block: { rows: this.#rows, columns }, tenants: this.#tenants };
  }

  #grow(needed: number): void {
    const capacity = Math.max(needed, 2 * this.#ts.length);
    this.#tenantIx = grownCopy(this.#tenantIx, capacity);
    this.#ids = grownCopy(this.#ids, 2 * capacity);
    this.#ts = grownCopy(this.#ts, capacity);
    this.#values = grownCopy(this.#values, capacity);
    if (this.#versioned) this.#versions = grownCopy(this.#versions, 2 * capacity);
  }
}

/** `['acme','globex']` as a ClickHouse array literal. */
export function tenantArraySql(tenants: readonly string[]): string {
  return "[" + tenants.map((t) => "'" + t.replaceAll("\\", "\\\\").replaceAll("'", "\\'") + "'").join(",") +
    "]";
}

/** The staged block's columns as (tenant, series_id, t DateTime64(3), value[, version]). */
export function sampleSourceSql(tenants: readonly string[], withVersion = false): string {
  return `(SELECT ${tenantArraySql(tenants)}[tenant_ix + 1] AS tenant, series_id,
    fromUnixTimestamp64Milli(toInt64(ts)) AS t, value${withVersion ? ", version" : ""} FROM {source})`;
}
