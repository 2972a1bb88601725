/**
 * Micro benchmark of the ingest decoders: decode + validate throughput in samples/s,
 * with `JSON.parse` alone beside each case as the floor no JSON decoder can beat.
 *
 * Payloads: 10k series × 1 point and 1k series × 10 points, each series with a
 * dotted Datadog metric name (normalised), four tags and a host resource, or the
 * native equivalent, as JSON and NDJSON, and as Influx lines.
 *
 * Run: deno run -A bench/decode.ts
 */
import { decodeDatadogV2 } from "../commands/ingest/datadog-v2.ts";
import type { DecodeContext, DecodeResult } from "../commands/ingest/decode-context.ts";
import { decodeInflux } from "../commands/ingest/influx.ts";
import { decodeNative } from "../commands/ingest/native.ts";
import { defaultLabelLimits } from "../domain/label-rules.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx: DecodeContext = {
  tenant: "acme",
  limits: defaultLabelLimits,
  now: NOW,
  maxAgeMs: 7 * 86_400_000,
  maxFutureMs: 600_000,
};
const METRICS = Array.from({ length: 50 }, (_, i) => `system.cpu.group${i}.user`);

function datadogBody(series: number, points: number): string {
  return JSON.stringify({
    series: Array.from({ length: series }, (_, s) => ({
      metric: METRICS[s % METRICS.length],
      type: 3,
      points: Array.from(
        { length: points },
        (_, p) => ({ timestamp: NOW / 1000 - 10 * p, value: s + p / 10 }),
      ),
      tags: ["env:prod", "service:api", `pod:api-${s}`, "region:us-east-1"],
      resources: [{ type: "host", name: `web-${s % 200}` }],
    })),
  });
}

function nativeSeries(series: number, points: number): unknown[] {
  return Array.from({ length: series }, (_, s) => ({
    metric: METRICS[s % METRICS.length].replaceAll(".", "_"),
    labels: { env: "prod", service: "api", pod: `api-${s}`, region: "us-east-1", host: `web-${s % 200}` },
    timestamps: Array.from({ length: points }, (_, p) => NOW - 10_000 * p),
    values: Array.from({ length: points }, (_, p) => s + p / 10),
  }));
}

/** The native series as Influx lines: measurement `m`, one field named after the metric. */
function influxBody(native: unknown[]): string {
  const lines: string[] = [];
  for (
    const s of native as {
      metric: string;
      labels: Record<string, string>;
      timestamps: number[];
      values: number[];
    }[]
  ) {
    const tags = Object.entries(s.labels).map(([k, v]) => `,${k}=${v}`).join("");
    s.timestamps.forEach((t, i) => lines.push(`m${tags} ${s.metric}=${s.values[i]} ${t}000000`));
  }
  return lines.join("\n");
}

interface Case {
  readonly name: string;
  readonly text: string;
  readonly run: (text: string) => DecodeResult;
}

function cases(series: number, points: number): Case[] {
  const shape = `${series / 1000}k×${points}`;
  const native = nativeSeries(series, points);
  return [
    {
      name: `datadog v2 JSON ${shape}`,
      text: datadogBody(series, points),
      run: (text) => decodeDatadogV2(JSON.parse(text), ctx),
    },
    {
      name: `native JSON ${shape}`,
      text: JSON.stringify(native),
      run: (text) => decodeNative(text, "application/json", ctx),
    },
    {
      name: `native NDJSON ${shape}`,
      text: native.map((s) => JSON.stringify(s)).join("\n"),
      run: (text) => decodeNative(text, "application/x-ndjson", ctx),
    },
    {
      name: `influx line protocol ${shape}`,
      text: influxBody(native),
      run: (text) => decodeInflux(text, "ns", ctx),
    },
  ];
}

/**
 * Median and fastest ms per call, timed for about a second after a warm-up. The
 * fastest run is the steadier figure on a busy machine; the median includes GC.
 */
function time(fn: () => void): { median: number; best: number } {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  const until = performance.now() + 1000;
  while (times.length < 20 || (performance.now() < until && times.length < 500)) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], best: times[0] };
}

const rows = [];
for (const c of [...cases(10_000, 1), ...cases(1_000, 10)]) {
  const samples = c.run(c.text).acceptedSamples;
  if (samples === 0) throw new Error(`${c.name}: nothing accepted, the benchmark payload is wrong`);
  const decode = time(() => c.run(c.text));
  const json = !c.name.startsWith("influx");
  const parse = !json
    ? { median: NaN, best: NaN }
    : c.name.includes("NDJSON")
    ? time(() => c.text.split("\n").forEach((line) => JSON.parse(line)))
    : time(() => JSON.parse(c.text));
  rows.push({
    case: c.name,
    "body KiB": Math.round(c.text.length / 1024),
    samples,
    "decode ms (median)": +decode.median.toFixed(2),
    "decode ms (best)": +decode.best.toFixed(2),
    "samples/s (median)": Math.round(samples / (decode.median / 1000)),
    "JSON.parse ms (best)": +parse.best.toFixed(2),
    "parse share (best)": json ? `${Math.round((parse.best / decode.best) * 100)}%` : "-",
  });
}
console.table(rows);
