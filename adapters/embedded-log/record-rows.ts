/**
 * The `record_batches` row format. Like Kafka's record batches, one row holds many records:
 * their keys as a JSON array, their value end positions (little-endian uint32) and their
 * values joined end to end. node:sqlite costs about 1 µs per row, which would otherwise cap
 * small-record throughput well below 1M/s; offsets stay dense per record (`base_offset` +
 * index in the row).
 *
 * @example
 * const row = encodeRow(records, 0); // the first row.count records, within the row limits
 * sql.insertRow.run(topic, partition, offset, now, row.keys, row.ends, row.data);
 * const records = readRecords(sql.readFrom, topic, partition, offset, 1000, Infinity);
 */
import type { StatementSync } from "node:sqlite";
import { ValidationError } from "../../domain/errors.ts";
import type { LogRecord, OutgoingRecord } from "../../domain/ports/command-log.ts";

/** Kept at the default consumer batch size so a consumer rarely decodes a row it only partly needs. */
const MAX_ROW_RECORDS = 1000;
const MAX_ROW_BYTES = 4 * 1024 * 1024;
/** Well under SQLite's 1 GB blob limit, which would otherwise fail a whole group commit. */
const MAX_VALUE_BYTES = 256 * 1024 * 1024;

/** A row as `readFrom` returns it: base_offset, timestamp, record_keys, value_ends, value_bytes. */
type StoredRow = [
  baseOffset: number,
  timestamp: number,
  keysJson: string,
  valueEnds: Uint8Array,
  valueBytes: Uint8Array,
];

/** The columns of one row to insert, holding `count` records. */
export interface EncodedRow {
  readonly count: number;
  readonly keys: string;
  readonly ends: Uint8Array;
  readonly data: Uint8Array;
}

/** Encodes records from `first` on, up to the row limits, into the record_batches columns. */
export function encodeRow(records: readonly OutgoingRecord[], first: number): EncodedRow {
  let last = first;
  let bytes = 0;
  while (
    last < records.length && last - first < MAX_ROW_RECORDS &&
    (last === first || bytes + records[last].value.byteLength <= MAX_ROW_BYTES)
  ) {
    bytes += records[last].value.byteLength;
    last++;
  }
  const count = last - first;
  const keys = new Array<string>(count);
  const ends = new Uint8Array(count * 4);
  const endsView = new DataView(ends.buffer);
  // A row of one record (an ingest request's record for a partition, usually) binds the
  // record's own bytes; copying them cost a memcpy of every appended byte.
  if (count === 1) {
    endsView.setUint32(0, bytes, true);
    return { count, keys: JSON.stringify([records[first].key]), ends, data: records[first].value };
  }
  const data = new Uint8Array(bytes);
  let position = 0;
  for (let i = 0; i < count; i++) {
    const record = records[first + i];
    keys[i] = record.key;
    data.set(record.value, position);
    position += record.value.byteLength;
    endsView.setUint32(i * 4, position, true);
  }
  return { count, keys: JSON.stringify(keys), ends, data };
}

/**
 * Reads records from offset `from` on through the `readFrom` statement (sqlite-schema.ts),
 * until `max` records or `maxBytes` value bytes; values are views into the row's value
 * bytes, not copies.
 */
export function readRecords(
  readFrom: StatementSync,
  topic: string,
  partition: number,
  from: number,
  max: number,
  maxBytes: number,
): LogRecord[] {
  const records: LogRecord[] = [];
  if (max <= 0) return records;
  let bytes = 0;
  for (const row of readFrom.iterate(topic, partition, from) as unknown as Iterable<StoredRow>) {
    const [baseOffset, timestamp, keysJson, endsBlob, data] = row;
    const keys = JSON.parse(keysJson) as string[];
    const ends = new DataView(endsBlob.buffer, endsBlob.byteOffset, endsBlob.byteLength);
    let index = Math.max(0, from - baseOffset);
    let start = index === 0 ? 0 : ends.getUint32((index - 1) * 4, true);
    for (; index < keys.length; index++) {
      const end = ends.getUint32(index * 4, true);
      const value = data.subarray(start, end);
      records.push({ topic, partition, offset: baseOffset + index, key: keys[index], value, timestamp });
      bytes += end - start;
      start = end;
      if (records.length >= max || bytes >= maxBytes) return records;
    }
  }
  return records;
}

/** Rejects a record a row cannot hold, before it joins a group commit it would fail. */
export function assertRecordShape(topic: string, record: OutgoingRecord): void {
  if (typeof record.key !== "string" || !(record.value instanceof Uint8Array)) {
    throw new ValidationError(
      `Cannot append to topic "${topic}": a record needs a string key and a Uint8Array value`,
    );
  }
  if (record.value.byteLength > MAX_VALUE_BYTES) {
    throw new ValidationError(
      `Cannot append to topic "${topic}": a value of ${record.value.byteLength} bytes exceeds ${MAX_VALUE_BYTES}`,
    );
  }
}
