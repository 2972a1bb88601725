/**
 * Reads a request body under two limits, decompressing it when the client says so.
 *
 * - Bytes as sent are counted while reading; past `maxCompressedBytes` the stream is
 *   cancelled and `PayloadTooLarge` thrown, so the rest is never read. An uncompressed
 *   body is held to both limits.
 * - `Content-Encoding: gzip` (or `x-gzip`) and `deflate` are inflated with the web
 *   `DecompressionStream`. `deflate` means zlib-wrapped deflate as in HTTP; a body
 *   without the two-byte zlib header is taken as raw deflate, which some clients send.
 *   Inflated bytes are counted as they come out and the inflater is stopped as soon as
 *   they pass `maxDecompressedBytes`, so a gzip bomb costs about the limit in memory.
 * - `zstd`: `node:zlib`'s zstd decoder with `maxOutputLength` at the limit, which
 *   stops it once its output would pass the limit (a 200 MB zstd bomb costs about the
 *   limit, measured), and answers `413` then.
 * - `identity` or no encoding: the bytes as read.
 * - Any other encoding throws `UnsupportedMediaType` naming it (`415`);
 *   corrupt or truncated compressed data throws `ValidationError` too.
 *
 * @example
 * const bytes = await readBody(c.req.raw.body, c.req.header("content-encoding"), {
 *   maxCompressedBytes: 512_000,
 *   maxDecompressedBytes: 5_242_880,
 * });
 */
import { zstdDecompressSync } from "node:zlib";
import { PayloadTooLarge, UnsupportedMediaType, ValidationError } from "../../domain/errors.ts";

export interface BodyLimits {
  readonly maxCompressedBytes: number;
  readonly maxDecompressedBytes: number;
}

type Encoding = "gzip" | "deflate" | "zstd";

/**
 * Deflate expands at most about 1032:1, so feeding the inflater this much at a time
 * bounds each output chunk (and the overshoot past the limit) to about 4 MiB.
 */
const INFLATE_SLICE = 4096;

export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  encoding: string | undefined | null,
  limits: BodyLimits,
): Promise<Uint8Array> {
  const compression = compressionOf(encoding);
  if (compression === undefined) {
    const limit = Math.min(limits.maxCompressedBytes, limits.maxDecompressedBytes);
    return await readAtMost(body, limit, "body");
  }
  const compressed = await readAtMost(body, limits.maxCompressedBytes, "compressed body");
  if (compressed.length === 0) return compressed;
  if (compression === "zstd") return unzstd(compressed, limits.maxDecompressedBytes);
  return await inflate(compressed, compression, limits.maxDecompressedBytes);
}

function compressionOf(encoding: string | undefined | null): Encoding | undefined {
  const name = (encoding ?? "").trim().toLowerCase();
  switch (name) {
    case "":
    case "identity":
      return undefined;
    case "gzip":
    case "x-gzip":
      return "gzip";
    case "deflate":
      return "deflate";
    case "zstd":
      return "zstd";
    default:
      throw new UnsupportedMediaType(
        `Cannot accept request: content encoding "${encoding}" is not supported (use gzip, deflate, zstd or identity)`,
      );
  }
}

function unzstd(compressed: Uint8Array, limit: number): Uint8Array {
  try {
    return zstdDecompressSync(compressed, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new PayloadTooLarge(`Cannot accept request: body decompresses to more than ${limit} bytes`);
    }
    const why = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`Cannot accept request: the zstd body is corrupt (${why})`);
  }
}

/** Reads a body as sent, stopping with `PayloadTooLarge` past `limit` bytes. */
export function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  if (body === null) return Promise.resolve(new Uint8Array(0));
  return collect(body.getReader(), limit, `${what} is larger than ${limit} bytes`);
}

async function inflate(compressed: Uint8Array, encoding: Encoding, limit: number): Promise<Uint8Array> {
  const stream = new DecompressionStream(formatOf(compressed, encoding));
  // Errors of the writing side reach the reader too, so they are reported there.
  feed(stream.writable.getWriter(), compressed).catch(() => {});
  try {
    return await collect(stream.readable.getReader(), limit, `body decompresses to more than ${limit} bytes`);
  } catch (error) {
    if (error instanceof PayloadTooLarge) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`Cannot accept request: the ${encoding} body is corrupt (${why})`);
  }
}

/** Reads a stream to the end, stopping with `PayloadTooLarge` as soon as it passes `limit`. */
async function collect(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number, tooLarge: string) {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Not awaited: a client that stalls must not hold the 413 back.
      reader.cancel().catch(() => {});
      throw new PayloadTooLarge(`Cannot accept request: ${tooLarge}`);
    }
    parts.push(value);
  }
  return concat(parts, total);
}

async function feed(writer: WritableStreamDefaultWriter<BufferSource>, bytes: Uint8Array): Promise<void> {
  // Request bodies are read into plain ArrayBuffers, never shared ones.
  const input = bytes as Uint8Array<ArrayBuffer>;
  for (let start = 0; start < input.length; start += INFLATE_SLICE) {
    await writer.write(input.subarray(start, start + INFLATE_SLICE));
  }
  await writer.close();
}

/** RFC 1950: compression method 8 in the low nibble and a header that is a multiple of 31. */
function formatOf(bytes: Uint8Array, encoding: Encoding): CompressionFormat {
  if (encoding === "gzip") return "gzip";
  const zlibWrapped = bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
  return zlibWrapped ? "deflate" : "deflate-raw";
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
