/**
 * Stage `ingest`: what `POST /v1/samples` and `POST /api/v2/series` do after the body
 * is read, on one core, in-process: UTF-8 decode, JSON decode + validate + series ids,
 * the content hash used as idempotency key, split by partition, record encoding, and
 * the append to a SqliteCommandLog in a temp dir on disk.
 *
 * Bodies are generated between iterations and left out of both the wall and the CPU
 * time. Every body has its own timestamps, so nothing is a duplicate. The "new series"
 * case gives every body a fresh series cache, as for a fleet ingest has not seen yet
 * (e2e's cold round): every series is parsed, checked, hashed and encoded.
 *
 * deno run -A bench/stage-ingest.ts [--quick] [--out result.json]
 */
import process from "node:process";
import { createHash } from "node:crypto";
import { appendSamples, type SampleLog } from "../commands/ingest/append-samples.ts";
import { decodeDatadogV2 } from "../commands/ingest/datadog-v2.ts";
import type { DecodeContext, DecodeResult } from "../commands/ingest/decode-context.ts";
import { decodeNative } from "../commands/ingest/native.ts";
import { openSqliteLog } from "../adapters/embedded-log/sqlite-log.ts";
import { benchIngestContext } from "./ingest-context.ts";
import { fmt, workDir, writeResult } from "./proc.ts";
import { type WireFormat, Workload } from "./workload.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const SECONDS_PER_CASE = quick ? 1 : 2.5;
const PARTITIONS = 8;
const SERIES = 100_000;
const textDecoder = new TextDecoder();

interface Case {
  readonly name: string;
  readonly format: WireFormat;
  readonly pointsPerLine: number;
  readonly sync: "normal" | "full";
  readonly newSeries?: boolean;
}

const cases: Case[] = [
  { name: "native NDJSON 10k×1", format: "native", pointsPerLine: 1, sync: "normal" },
  { name: "native NDJSON 1k×10", format: "native", pointsPerLine: 10, sync: "normal" },
  { name: "datadog v2 10k×1", format: "datadog", pointsPerLine: 1, sync: "normal" },
  { name: "datadog v2 1k×10", format: "datadog", pointsPerLine: 10, sync: "normal" },
  { name: "native NDJSON 10k×1", format: "native", pointsPerLine: 1, sync: "full" },
  { name: "native 10k×1 new series", format: "native", pointsPerLine: 1, sync: "normal", newSeries: true },
];

export interface IngestCaseResult {
  readonly case: string;
  readonly sync: string;
  readonly samples: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly samplesPerSecond: number;
  readonly samplesPerCpuSecond: number;
  /** Milliseconds per 10k-sample body, by step (`append` is the log's share of appendSamples). */
  readonly msPerBody: Record<string, number>;
}

function decoderFor(format: WireFormat): (text: string, ctx: DecodeContext) => DecodeResult {
  return format === "datadog"
    ? (text, ctx) => decodeDatadogV2(JSON.parse(text), ctx)
    : (text, ctx) => decodeNative(text, "application/x-ndjson", ctx);
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function runCase(c: Case, dir: string): Promise<IngestCaseResult> {
  const now = Date.now();
  const workload = new Workload({
    series: SERIES,
    samplesPerBody: 10_000,
    pointsPerLine: c.pointsPerLine,
    baseMs: Math.floor((now - 3_600_000) / 60_000) * 60_000,
    stepMs: 1000,
  });
  const log = openSqliteLog({ path: `${dir}/${c.format}-${c.pointsPerLine}-${c.sync}.sqlite`, sync: c.sync });
  await log.ensureTopic("metrics.samples", PARTITIONS);
  // Times the log's share of appendSamples; the rest of it is split + encode.
  let appendMs = 0;
  const timedLog = new Proxy(log, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (name !== "append") return typeof value === "function" ? value.bind(target) : value;
      return (...callArgs: Parameters<typeof log.append>) => {
        const start = performance.now();
        return log.append(...callArgs).finally(() => appendMs += performance.now() - start);
      };
    },
  });
  const sampleLog: SampleLog = { log: timedLog, topic: "metrics.samples", partitions: PARTITIONS };
  const decode = decoderFor(c.format);
  let ctx = benchIngestContext(now);
  const steps = { utf8: 0, decode: 0, hash: 0, splitEncode: 0, append: 0 };
  let wall = 0;
  let cpu = 0;
  let samples = 0;
  let bodies = 0;
  // Warm-up on bodies past the measured ones, so the JIT has seen every path and the
  // series cache knows every series: the measured bodies are the steady state of a
  // fleet that sends the same series every interval (new series: e2e's cold round).
  for (let b = 0; b < workload.bodiesPerRound; b++) {
    const result = decode(textDecoder.decode(workload.body(c.format, 1000 + b)), ctx);
    await appendSamples(sampleLog, result.batch, `warm-${b}`);
  }
  for (let b = 0; wall < SECONDS_PER_CASE; b++) {
    const bytes = workload.body(c.format, b);
    if (c.newSeries) ctx = benchIngestContext(now);
    const w0 = performance.now();
    const c0 = cpuNow();
    const text = textDecoder.decode(bytes);
    const t1 = performance.now();
    const result = decode(text, ctx);
    const t2 = performance.now();
    const key = createHash("sha256").update(bytes).digest("hex");
    const t3 = performance.now();
    const appendBefore = appendMs;
    await appendSamples(sampleLog, result.batch, key);
    const t4 = performance.now();
    cpu += cpuNow() - c0;
    wall += (t4 - w0) / 1000;
    if (result.acceptedSamples !== workload.shape.samplesPerBody) {
      throw new Error(
        `${c.name}: ${result.acceptedSamples} samples accepted, ${workload.shape.samplesPerBody} sent`,
      );
    }
    samples += result.acceptedSamples;
    bodies++;
    steps.utf8 += t1 - w0;
    steps.decode += t2 - t1;
    steps.hash += t3 - t2;
    steps.append += appendMs - appendBefore;
    steps.splitEncode += t4 - t3 - (appendMs - appendBefore);
  }
  const end = (await log.offsets("metrics.samples")).reduce((n, o) => n + o.end, 0);
  await log.close();
  if (end < bodies) throw new Error(`${c.name}: ${end} records in the log after ${bodies} appends`);
  const msPerBody: Record<string, number> = {};
  for (const [step, ms] of Object.entries(steps)) msPerBody[step] = +(ms / bodies).toFixed(3);
  return {
    case: c.name,
    sync: c.sync,
    samples,
    wallSeconds: wall,
    cpuSeconds: cpu,
    samplesPerSecond: samples / wall,
    samplesPerCpuSecond: samples / cpu,
    msPerBody,
  };
}

const dir = await workDir("ingest-");
const results: IngestCaseResult[] = [];
try {
  for (const c of cases) {
    const r = await runCase(c, dir);
    results.push(r);
    const steps = Object.entries(r.msPerBody).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
    console.error(
      `ingest ${r.case.padEnd(22)} sync=${r.sync.padEnd(7)} ${
        fmt.rate(r.samplesPerSecond).padStart(10)
      } samples/s` +
        ` ${fmt.rate(r.samplesPerCpuSecond).padStart(10)} samples/CPU-s | ms per 10k body: ${steps}`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
await writeResult(args, { stage: "ingest", cases: results });
