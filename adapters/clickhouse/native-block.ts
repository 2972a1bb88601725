/**
 * Encodes a columnar block in ClickHouse's Native format. Fixed-width columns are
 * copied as they are, so encoding them costs one memcpy per column; strings are written
 * as length-prefixed UTF-8 with a fast path for ASCII.
 *
 * Native block: varint(columns) varint(rows), then per column string(name) string(type)
 * and the values: fixed-width little-endian values; for String, varint(length) + bytes
 * per row; for Array(T), one UInt64 end offset per row, then every element of T;
 * for AggregateFunction, each row's serialized state.
 */
import type { Column, ColumnBlock, FixedType } from "../../domain/ports/analytics-store.ts";

const WIDTH: Record<FixedType, number> = {
  UInt8: 1,
  UInt16: 2,
  UInt32: 4,
  UInt64: 8,
  Int32: 4,
  Int64: 8,
  Float64: 8,
  Date: 2,
  DateTime: 4,
};
const encoder = new TextEncoder();

/** The ClickHouse type of a column, as written in the block and in `input()` structures. */
export function columnType(column: Column): string {
  return column.type === "AggregateFunction" ? `AggregateFunction(${column.signature})` : column.type;
}

export function encodeNativeBlock(block: ColumnBlock): Uint8Array {
  const out = new NativeWriter(block.columns.reduce((n, c) => n + upperBound(c, block.rows), 16));
  out.varint(block.columns.length);
  out.varint(block.rows);
  for (const column of block.columns) {
    out.string(column.name);
    out.string(columnType(column));
    writeValues(out, column, block.rows);
  }
  return out.bytes();
}

/** The `input()` structure string for a block, e.g. `id UInt64, v Float64`. */
export function blockStructure(block: ColumnBlock): string {
  return block.columns.map((c) => `${c.name} ${columnType(c)}`).join(", ");
}

function writeValues(out: NativeWriter, column: Column, rows: number): void {
  switch (column.type) {
    case "String":
      for (let i = 0; i < rows; i++) out.string(column.data[i]);
      return;
    case "Array(String)": {
      out.ends(column.ends, rows);
      const n = rows === 0 ? 0 : column.ends[rows - 1];
      for (let i = 0; i < n; i++) out.string(column.data[i]);
      return;
    }
    case "Array(Int32)":
      out.ends(column.ends, rows);
      out.copy(column.data, rows === 0 ? 0 : 4 * column.ends[rows - 1], column.name);
      return;
    case "Array(UInt64)":
      out.ends(column.ends, rows);
      out.copy(column.data, rows === 0 ? 0 : 8 * column.ends[rows - 1], column.name);
      return;
    case "AggregateFunction":
      out.copy(column.data, rows * column.width, column.name);
      return;
    default:
      out.copy(column.data, rows * WIDTH[column.type], column.name);
  }
}

/** Bytes the column can take at most, so the block is allocated once. */
function upperBound(column: Column, rows: number): number {
  const header = 20 + 3 * (column.name.length + columnType(column).length);
  const strings = (data: readonly string[], n: number) => {
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += 5 + 3 * data[i].length;
    return bytes;
  };
  switch (column.type) {
    case "String":
      return header + strings(column.data, rows);
    case "Array(String)":
      return header + 8 * rows + strings(column.data, rows === 0 ? 0 : column.ends[rows - 1]);
    case "Array(Int32)":
      return header + 8 * rows + 4 * (rows === 0 ? 0 : column.ends[rows - 1]);
    case "Array(UInt64)":
      return header + 8 * rows + 8 * (rows === 0 ? 0 : column.ends[rows - 1]);
    case "AggregateFunction":
      return header + rows * column.width;
    default:
      return header + rows * WIDTH[column.type];
  }
}

class NativeWriter {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.#buf[this.#pos++] = n;
  }

  string(s: string): void {
    const buf = this.#buf;
    // Almost every name and label is short ASCII: copying code units is several times
    // cheaper than a TextEncoder call per string.
    if (s.length < 0x80) {
      const start = this.#pos + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === s.length) {
        buf[this.#pos] = i;
        this.#pos = start + i;
        return;
      }
    }
    const utf8 = encoder.encode(s);
    this.varint(utf8.length);
    buf.set(utf8, this.#pos);
    this.#pos += utf8.length;
  }

  /** Row ends as UInt64 offsets (the high words stay as allocated: zero). */
  ends(ends: Uint32Array, rows: number): void {
    const buf = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < rows; i++, p += 8) {
      const n = ends[i];
      buf[p] = n;
      buf[p + 1] = n >>> 8;
      buf[p + 2] = n >>> 16;
      buf[p + 3] = n >>> 24;
    }
    this.#pos = p;
  }

  copy(data: ArrayBufferView, bytes: number, name: string): void {
    if (data.byteLength < bytes) {
      throw new Error(`Column "${name}" holds ${data.byteLength} bytes, ${bytes} needed`);
    }
    this.#buf.set(new Uint8Array(data.buffer, data.byteOffset, bytes), this.#pos);
    this.#pos += bytes;
  }
}
