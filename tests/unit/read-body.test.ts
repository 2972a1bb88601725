import assert from "node:assert/strict";
import { deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from "node:zlib";
import { readBody } from "../../adapters/http/read-body.ts";
import { PayloadTooLarge, UnsupportedMediaType, ValidationError } from "../../domain/errors.ts";

const limits = { maxCompressedBytes: 512_000, maxDecompressedBytes: 5_242_880 };
const text = '{"series":[' + Array.from({ length: 2000 }, (_, i) => `{"metric":"m${i}"}`).join(",") + "]}";
const plain = new TextEncoder().encode(text);

function streamOf(bytes: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("readBody: identity or no encoding returns the bytes as sent, across chunks", async () => {
  for (const encoding of [undefined, null, "", "identity", " Identity "]) {
    assert.equal(decode(await readBody(streamOf(plain), encoding, limits)), text, String(encoding));
  }
  assert.equal((await readBody(null, undefined, limits)).length, 0);
});

Deno.test("readBody: gzip and deflate (zlib-wrapped and raw) round trip", async () => {
  const cases: [string, Uint8Array][] = [
    ["gzip", gzipSync(plain)],
    ["x-gzip", gzipSync(plain)],
    ["GZIP", gzipSync(plain)],
    ["deflate", deflateSync(plain)],
    ["deflate", deflateRawSync(plain)],
  ];
  for (const [encoding, compressed] of cases) {
    assert.ok(compressed.length < plain.length / 4, encoding);
    const out = await readBody(streamOf(compressed, 333), encoding, limits);
    assert.equal(decode(out), text, encoding);
  }
  assert.equal((await readBody(null, "gzip", limits)).length, 0);
});

Deno.test("readBody: an unknown encoding is refused by name before the body is read", async () => {
  const body = streamOf(plain);
  await assert.rejects(
    readBody(body, "br", limits),
    (e: unknown) =>
      e instanceof UnsupportedMediaType &&
      e.message ===
        'Cannot accept request: content encoding "br" is not supported (use gzip, deflate, zstd or identity)',
  );
  assert.equal(body.locked, false);
});

Deno.test("readBody: past the compressed limit the stream is cancelled, not read to the end", async () => {
  let pulled = 0;
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(
    readBody(endless, "gzip", limits),
    (e: unknown) =>
      e instanceof PayloadTooLarge &&
      e.message === "Cannot accept request: compressed body is larger than 512000 bytes",
  );
  assert.equal(cancelled, true);
  // 8 chunks of 64 KiB pass the limit; the stream may have queued one more.
  assert.ok(pulled <= 9, `pulled ${pulled} chunks`);
});

Deno.test("readBody: an uncompressed body is held to the smaller of both limits", async () => {
  const small = { maxCompressedBytes: 10_000, maxDecompressedBytes: 50_000 };
  await assert.rejects(
    readBody(streamOf(plain), undefined, small),
    (e: unknown) =>
      e instanceof PayloadTooLarge && e.message === "Cannot accept request: body is larger than 10000 bytes",
  );
  const exact = { maxCompressedBytes: plain.length, maxDecompressedBytes: plain.length };
  assert.equal((await readBody(streamOf(plain), undefined, exact)).length, plain.length);
});

Deno.test("readBody: the decompressed limit is inclusive", async () => {
  const compressed = gzipSync(plain);
  const exact = { maxCompressedBytes: 512_000, maxDecompressedBytes: plain.length };
  assert.equal((await readBody(streamOf(compressed), "gzip", exact)).length, plain.length);
  await assert.rejects(
    readBody(streamOf(compressed), "gzip", { ...exact, maxDecompressedBytes: plain.length - 1 }),
    (e: unknown) =>
      e instanceof PayloadTooLarge &&
      e.message === `Cannot accept request: body decompresses to more than ${plain.length - 1} bytes`,
  );
});

Deno.test("readBody: a gzip bomb fails fast with bounded memory", async () => {
  const bomb = gzipSync(new Uint8Array(200 * 1024 * 1024));
  assert.ok(bomb.length < 512_000, `bomb is ${bomb.length} bytes compressed`);

  const rssBefore = Deno.memoryUsage().rss;
  const started = performance.now();
  await assert.rejects(
    readBody(streamOf(bomb, 16 * 1024), "gzip", limits),
    (e: unknown) =>
      e instanceof PayloadTooLarge &&
      e.message === "Cannot accept request: body decompresses to more than 5242880 bytes",
  );
  const elapsedMs = performance.now() - started;
  const rssDeltaMb = (Deno.memoryUsage().rss - rssBefore) / 2 ** 20;
  console.log(
    `gzip bomb (${bomb.length} B → 200 MiB): rejected in ${elapsedMs.toFixed(1)} ms, rss +${
      rssDeltaMb.toFixed(1)
    } MiB`,
  );
  assert.ok(rssDeltaMb < 100, `rss grew by ${rssDeltaMb.toFixed(1)} MiB`);
  assert.ok(elapsedMs < 2000, `took ${elapsedMs.toFixed(0)} ms`);
});

Deno.test("readBody: corrupt or truncated compressed data is a validation error", async () => {
  const gz = gzipSync(plain);
  const flipped = gz.slice();
  for (let i = 20; i < 60; i++) flipped[i] ^= 0x5a;
  const cases: [string, Uint8Array][] = [
    ["gzip", flipped],
    ["gzip", gz.subarray(0, gz.length - 8)],
    ["gzip", plain],
    ["deflate", new TextEncoder().encode("this is not deflate data at all")],
  ];
  for (const [encoding, bytes] of cases) {
    await assert.rejects(
      readBody(streamOf(bytes), encoding, limits),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.message.startsWith(`Cannot accept request: the ${encoding} body is corrupt (`),
    );
  }
});

Deno.test("readBody: zstd is decoded, and a zstd bomb stops at the limit with 413", async () => {
  const text = "zstd body ".repeat(1000);
  const out = await readBody(streamOf(zstdCompressSync(new TextEncoder().encode(text))), "zstd", limits);
  assert.equal(decode(out), text);
  const bomb = zstdCompressSync(new Uint8Array(200 * 1024 * 1024));
  const before = Deno.memoryUsage().rss;
  await assert.rejects(
    readBody(streamOf(bomb), "zstd", { maxCompressedBytes: 1 << 20, maxDecompressedBytes: 1 << 20 }),
    (e: unknown) => e instanceof PayloadTooLarge && /decompresses to more than 1048576 bytes/.test(e.message),
  );
  const grown = Deno.memoryUsage().rss - before;
  console.log(
    `zstd bomb of ${bomb.length} bytes (200 MiB inflated): resident memory grew ${
      (grown / 1e6).toFixed(1)
    } MB`,
  );
  assert.ok(grown < 32 * 1024 * 1024, `grew ${grown} bytes`);
  await assert.rejects(readBody(streamOf(Uint8Array.from([1, 2, 3, 4, 5])), "zstd", limits), ValidationError);
});
