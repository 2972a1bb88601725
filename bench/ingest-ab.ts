/**
 * Ingest of this checkout beside another one in the same process, body by body
 * in alternating order, so both meet the same load on a shared machine: ms of CPU per
 * steady body (native NDJSON, or Influx line protocol with `--format influx`) for each step, each checkout with its own modules, series cache
 * and SqliteCommandLog (sync=normal) in a temp dir. Steps: UTF-8 decode; decode +
 * validate with a warm series cache; the body's SHA-256 (the idempotency key without a
 * header); split + encode into partition records; the whole append (split, encode and
 * the log's transaction); and, for the projections' side, decoding the records again.
 * "Request" adds up UTF-8, decode, hash and append, as `POST /v1/samples` spends them
 * after the body is read.
 *
 * deno run -A bench/ingest-ab.ts OTHER_CHECKOUT [--rounds N] [--points-per-line K] [--format influx]
 */
import process from "node:process";
import { createHash } from "node:crypto";
import type { PartitionRecord } from "../domain/partition-records.ts";
import type { SampleBatch } from "../domain/sample-batch.ts";
import type { SeriesDef } from "../domain/series.ts";
import { argValue, workDir } from "./proc.ts";
import { type WireFormat, Workload } from "./workload.ts";

type Native = typeof import("../commands/ingest/native.ts");
type Influx = typeof import("../commands/ingest/influx.ts");
type Append = typeof import("../commands/ingest/append-samples.ts");
type Log = typeof import("../adapters/embedded-log/sqlite-log.ts");
type Context = typeof import("./ingest-context.ts");
type Records = typeof import("../domain/sample-record.ts");
type Series = typeof import("../domain/series.ts");
/** Both signatures: a checkout before partitions came from id words took a partition function. */
type EncodeRecords = (
  batch: SampleBatch,
  partitions: number,
  partitionOf: (def: SeriesDef) => number,
) => PartitionRecord[];

const STEPS = ["utf8", "decode", "hash", "encode", "append", "read"] as const;
type Step = typeof STEPS[number];
const PARTITIONS = 8;
const NDJSON = "application/x-ndjson";

const other = Deno.args[0];
if (other === undefined || other.startsWith("--")) {
  console.error(
    "usage: deno run -A bench/ingest-ab.ts OTHER_CHECKOUT [--rounds N] [--points-per-line K] [--format influx]",
  );
  Deno.exit(2);
}
const FORMAT = (argValue(Deno.args, "--format") ?? "native") as WireFormat;
if (FORMAT !== "native" && FORMAT !== "influx") {
  console.error(`ingest-ab: --format is native or influx, not ${FORMAT}`);
  Deno.exit(2);
}
const ROUNDS = Number(argValue(Deno.args, "--rounds") ?? 20);
const POINTS = Number(argValue(Deno.args, "--points-per-line") ?? 1);
const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const now = Date.now();
const workload = new Workload({
  series: 100_000,
  samplesPerBody: 10_000,
  pointsPerLine: POINTS,
  baseMs: Math.floor((now - 3_600_000) / 60_000) * 60_000,
  stepMs: 1000,
});
const text = new TextDecoder();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

async function checkout(root: string, dir: string) {
  const native: Native = await import(`${root}/commands/ingest/native.ts`);
  const influx: Influx = await import(`${root}/commands/ingest/influx.ts`);
  // The workload stamps line protocol in nanoseconds.
  const decode = (body: string, ctx: ReturnType<Context["benchIngestContext"]>) =>
    FORMAT === "influx" ? influx.decodeInflux(body, "ns", ctx) : native.decodeNative(body, NDJSON, ctx);
  const append: Append = await import(`${root}/commands/ingest/append-samples.ts`);
  const sqlite: Log = await import(`${root}/adapters/embedded-log/sqlite-log.ts`);
  const context: Context = await import(`${root}/bench/ingest-context.ts`);
  const records: Records = await import(`${root}/domain/sample-record.ts`);
  const series: Series = await import(`${root}/domain/series.ts`);
  const encode = (await import(`${root}/domain/partition-records.ts`))
    .encodePartitionRecords as EncodeRecords;
  const log = sqlite.openSqliteLog({ path: `${dir}/${root.replaceAll("/", "_")}.sqlite`, sync: "normal" });
  await log.ensureTopic("metrics.samples", PARTITIONS);
  const target = { log, topic: "metrics.samples", partitions: PARTITIONS };
  const ctx = context.benchIngestContext(now);
  let appended = 0;
  const ms = new Map<Step, number[]>(STEPS.map((step) => [step, []]));
  let recordBytes = 0;

  const ingest = async (bytes: Uint8Array, into: Record<Step, number>) => {
    const c0 = cpuMs();
    const body = text.decode(bytes);
    const c1 = cpuMs();
    const result = decode(body, ctx);
    const c2 = cpuMs();
    const key = createHash("sha256").update(bytes).digest("hex");
    const c3 = cpuMs();
    const parts = encode(result.batch, PARTITIONS, (def) => series.partitionOf(def.id, PARTITIONS));
    const c4 = cpuMs();
    await append.appendSamples(target, result.batch, `${key}-${appended++}`);
    const c5 = cpuMs();
    for (const part of parts) records.decodeSampleRecord(part.value).seriesIds;
    const c6 = cpuMs();
    if (result.acceptedSamples !== workload.shape.samplesPerBody) {
      throw new Error(`${root}: ${result.acceptedSamples} samples accepted`);
    }
    recordBytes = parts.reduce((n, part) => n + part.value.length, 0);
    into.utf8 += c1 - c0;
    into.decode += c2 - c1;
    into.hash += c3 - c2;
    into.encode += c4 - c3;
    into.append += c5 - c4;
    into.read += c6 - c5;
  };
  return { root, ms, ingest, log, ctx, decode, append, target, bytesPerSample: () => recordBytes / 10_000 };
}

const dir = await workDir("ingest-ab-");
const sides = [await checkout(here, dir), await checkout(other, dir)];
try {
  // Every series once, as a fleet does every interval, then bodies of later rounds.
  for (const side of sides) {
    for (let b = 0; b < workload.bodiesPerRound; b++) {
      const result = side.decode(text.decode(workload.body(FORMAT, 1000 + b)), side.ctx);
      await side.append.appendSamples(side.target, result.batch, `warm-${b}`);
    }
  }
  const bodies = Array.from({ length: workload.bodiesPerRound }, (_, b) => workload.body(FORMAT, b));
  for (let round = 0; round < ROUNDS; round++) {
    const sums = sides.map(() => Object.fromEntries(STEPS.map((step) => [step, 0])) as Record<Step, number>);
    for (let b = 0; b < bodies.length; b++) {
      const order = (round + b) % 2 === 0 ? [0, 1] : [1, 0];
      for (const s of order) await sides[s].ingest(bodies[b], sums[s]);
    }
    sides.forEach((side, s) =>
      STEPS.forEach((step) => side.ms.get(step)!.push(sums[s][step] / bodies.length))
    );
  }
} finally {
  for (const side of sides) await side.log.close();
  await Deno.remove(dir, { recursive: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const request = (side: typeof sides[number]) =>
  median(side.ms.get("utf8")!) + median(side.ms.get("decode")!) + median(side.ms.get("hash")!) +
  median(side.ms.get("append")!);
const [mine, theirs] = sides;
console.log(
  `load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${FORMAT}, ${POINTS} point(s) per line; ` +
    `median ms CPU per 10k-sample body over ${ROUNDS} rounds of ${workload.bodiesPerRound} bodies`,
);
console.log(`${"step".padEnd(8)} ${"other".padStart(8)} ${"this".padStart(8)}  this/other`);
for (const step of STEPS) {
  const a = median(theirs.ms.get(step)!);
  const b = median(mine.ms.get(step)!);
  console.log(
    `${step.padEnd(8)} ${a.toFixed(3).padStart(8)} ${b.toFixed(3).padStart(8)}  ${(b / a).toFixed(3)}`,
  );
}
const rate = (ms: number) => Math.round(10_000 / ms * 1000).toLocaleString("en-US");
console.log(
  `request  ${request(theirs).toFixed(3).padStart(8)} ${request(mine).toFixed(3).padStart(8)}  ${
    (request(mine) / request(theirs)).toFixed(3)
  }   samples/CPU-s: other ${rate(request(theirs))}, this ${rate(request(mine))}`,
);
console.log(
  `record bytes per sample: other ${theirs.bytesPerSample().toFixed(1)}, this ${
    mine.bytesPerSample().toFixed(1)
  }`,
);
