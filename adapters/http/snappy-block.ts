/**
 * Snappy block format (not the framed stream format), as Prometheus remote write
 * sends it: a varint with the uncompressed length, then the compressed elements.
 *
 * The declared length is read and checked against the limit before anything is
 * allocated, so a block that claims 4 GB costs nothing but the 413. Decompression is
 * `snappy-wasm` (Rust's `snap` crate compiled to WebAssembly), about twice as fast here
 * as the pure-JS `snappyjs` and faster than the N-API `snappy` binding through Deno's
 * Node-API layer (bench/snappy.ts). Its WebAssembly memory grows to the largest block
 * seen, which the limit bounds.
 *
 * @example
 * const snappy = snappyBlock();
 * const body = await snappy.decompress(compressed, 64 * 1024 * 1024);
 */
import * as snappyWasm from "snappy-wasm";
import { PayloadTooLarge, ValidationError } from "../../domain/errors.ts";

/**
 * The module's loader. The package is not marked as an ES module, so type checking
 * reads its default export as the namespace; at run time it is the loader.
 */
const loadWasm = (snappyWasm as unknown as { default: () => Promise<unknown> }).default;

export interface SnappyBlock {
  /** Throws `PayloadTooLarge` past `limit` and `ValidationError` for a corrupt block. */
  decompress(block: Uint8Array, limit: number): Promise<Uint8Array>;
}

/** A decompressor that loads its WebAssembly module on first use. */
export function snappyBlock(): SnappyBlock {
  let loaded: Promise<unknown> | undefined;
  return {
    async decompress(block, limit) {
      const length = declaredLength(block);
      if (length > limit) {
        throw new PayloadTooLarge(
          `Cannot accept request: the snappy block declares ${length} bytes, over the limit of ${limit}`,
        );
      }
      if (length === 0) return new Uint8Array(0);
      await (loaded ??= loadWasm());
      try {
        return snappyWasm.decompress_raw(block);
      } catch (error) {
        throw new ValidationError(`Cannot accept request: the snappy block is corrupt (${messageOf(error)})`);
      }
    },
  };
}

/** The uncompressed length a snappy block starts with (a varint of at most 32 bits). */
export function declaredLength(block: Uint8Array): number {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) break;
    const byte = block[i];
    length += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return length;
  }
  throw new ValidationError(
    "Cannot accept request: the body is not a snappy block (its length header is missing or malformed)",
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
