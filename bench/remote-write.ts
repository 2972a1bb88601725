/**
 * Micro benchmark of Prometheus remote write decoding, to choose the libraries:
 * - snappy block decompression: `snappy-wasm` (used) beside `snappyjs` (pure JS);
 * - protobuf: protobufjs' generated-at-run-time decoder beside the hand-written one
 *   (`commands/ingest/remote-write-v1.ts`), alone and with the series cache warm as in
 *   steady ingest.
 *
 * Payload: 10k series × 1 sample, `bench_metric` with five labels, as the ingest
 * stage's workload; also 1k × 10.
 *
 * Run: deno run -A bench/remote-write.ts
 */
import snappyjs from "snappyjs";
import * as snappyWasm from "snappy-wasm";
import type { DecodeContext } from "../commands/ingest/decode-context.ts";
import { decodeRemoteWriteV1 } from "../commands/ingest/remote-write-v1.ts";
import { decodeRemoteWriteV2 } from "../commands/ingest/remote-write-v2.ts";
import { SeriesCache } from "../commands/ingest/series-cache.ts";
import { defaultLabelLimits } from "../domain/label-rules.ts";
import {
  decodeRequestV2,
  decodeWriteRequestV1,
  encodeRequestV2,
  encodeWriteRequestV1,
  toRequestV2,
} from "../tests/support/remote-write-proto.ts";

await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();

const NOW = Date.now();
const ctx = (cache?: SeriesCache): DecodeContext => ({
  tenant: "bench",
  limits: defaultLabelLimits,
  now: NOW,
  maxAgeMs: 7 * 86_400_000,
  maxFutureMs: 600_000,
  seriesCache: cache,
});

function body(series: number, points: number) {
  return Array.from({ length: series }, (_, s) => ({
    labels: [
      { name: "__name__", value: "bench_metric" },
      { name: "dc", value: `dc-${s % 3}` },
      { name: "host", value: `host-${s}` },
      { name: "instance", value: `10.0.${s >> 8}.${s & 255}:9100` },
      { name: "job", value: `job-${s % 10}` },
      { name: "rack", value: `rack-${s % 50}` },
    ],
    samples: Array.from({ length: points }, (_, p) => ({ value: s + p / 10, timestamp: NOW - 10_000 * p })),
  }));
}

function time(fn: () => unknown): number {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  const until = performance.now() + 1000;
  while (times.length < 10 || (performance.now() < until && times.length < 300)) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const rows = [];
for (const [series, points] of [[10_000, 1], [1_000, 10]]) {
  const timeseries = body(series, points);
  const v1 = encodeWriteRequestV1({ timeseries });
  const v2 = encodeRequestV2(toRequestV2(timeseries));
  const samples = series * points;
  const warm = new SeriesCache(262_144);
  decodeRemoteWriteV1(v1, ctx(warm));
  const warm2 = new SeriesCache(262_144);
  decodeRemoteWriteV2(v2, ctx(warm2));
  const cases: [string, Uint8Array, () => unknown][] = [
    ["snappy-wasm decompress", v1, () => snappyWasm.decompress_raw(compressedV1)],
    ["snappyjs decompress", v1, () => snappyjs.uncompress(compressedV1)],
    ["protobufjs decode 1.0", v1, () => decodeWriteRequestV1(v1)],
    ["hand-written decode 1.0, no cache", v1, () => decodeRemoteWriteV1(v1, ctx())],
    ["hand-written decode 1.0, warm cache", v1, () => decodeRemoteWriteV1(v1, ctx(warm))],
    ["protobufjs decode 2.0", v2, () => decodeRequestV2(v2)],
    ["hand-written decode 2.0, no cache", v2, () => decodeRemoteWriteV2(v2, ctx())],
    ["hand-written decode 2.0, warm cache", v2, () => decodeRemoteWriteV2(v2, ctx(warm2))],
  ];
  const compressedV1 = snappyWasm.compress_raw(v1);
  for (const [name, bytes, run] of cases) {
    const ms = time(run);
    rows.push({
      case: `${name} ${series / 1000}k×${points}`,
      "body KiB": Math.round(bytes.length / 1024),
      "ms (median)": +ms.toFixed(2),
      "samples/s": Math.round(samples / (ms / 1000)),
    });
  }
}
console.table(rows);
