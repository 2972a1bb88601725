/**
 * Encodes a columnar block in ClickHouse's Native format. Fixed-width columns are
 * copied as they are, so encoding costs one memcpy per column.
 *
 * Native block: varint(columns) varint(rows), then per column
 * string(name) string(type) raw little-endian values.
 */
import type { ColumnBlock } from "../../domain/ports/analytics-store.ts";

const WIDTH = { UInt8: 1, UInt16: 2, UInt32: 4, UInt64: 8, Int64: 8, Float64: 8 } as const;
const encoder = new TextEncoder();

function varint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function string(s: string, out: number[]): void {
  const bytes = encoder.encode(s);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

export function encodeNativeBlock(block: ColumnBlock): Uint8Array {
  const headers: Uint8Array[] = [];
  const head: number[] = [];
  varint(block.columns.length, head);
  varint(block.rows, head);
  let total = head.length;
  for (const column of block.columns) {
    const h: number[] = [];
    string(column.name, h);
    string(column.type, h);
    const header = new Uint8Array(h);
    headers.push(header);
    const bytes = block.rows * WIDTH[column.type];
    if (column.data.byteLength < bytes) {
      throw new Error(`Column "${column.name}" holds ${column.data.byteLength} bytes, ${bytes} needed`);
    }
    total += header.length + bytes;
  }
  const out = new Uint8Array(total);
  out.set(head, 0);
  let pos = head.length;
  block.columns.forEach((column, i) => {
    out.set(headers[i], pos);
    pos += headers[i].length;
    const bytes = block.rows * WIDTH[column.type];
    out.set(new Uint8Array(column.data.buffer, column.data.byteOffset, bytes), pos);
    pos += bytes;
  });
  return out;
}

/** The `input()` structure string for a block, e.g. `id UInt64, v Float64`. */
export function blockStructure(block: ColumnBlock): string {
  return block.columns.map((c) => `${c.name} ${c.type}`).join(", ");
}
