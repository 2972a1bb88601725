/**
 * Where the CPU of ingesting one steady native 10k×1 body goes, step by step, on the
 * process CPU clock (not wall time, which under a shared machine's load mostly
 * measures waiting): UTF-8 decode, decode + validate with a warm series cache, the
 * body's SHA-256 (the idempotency key without a header), and split + encode + append
 * to a SqliteCommandLog (sync=normal) in a temp dir. Bodies are generated before the
 * measured rounds.
 *
 * deno run -A bench/ingest-steps.ts [--rounds N]
 */
import process from "node:process";
import { createHash } from "node:crypto";
import { appendSamples } from "../commands/ingest/append-samples.ts";
import { decodeNative } from "../commands/ingest/native.ts";
import { openSqliteLog } from "../adapters/embedded-log/sqlite-log.ts";
import { benchIngestContext } from "./ingest-context.ts";
import { argValue, workDir } from "./proc.ts";
import { Workload } from "./workload.ts";

const ROUNDS = Number(argValue(Deno.args, "--rounds") ?? 5);
const BODIES = 20;
const NDJSON = "application/x-ndjson";
const now = Date.now();
const workload = new Workload({
  series: 100_000,
  samplesPerBody: 10_000,
  pointsPerLine: 1,
  baseMs: Math.floor((now - 3_600_000) / 60_000) * 60_000,
  stepMs: 1000,
});
const ctx = benchIngestContext(now);
const dir = await workDir("ingest-steps-");
const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
await log.ensureTopic("metrics.samples", 8);
const target = { log, topic: "metrics.samples", partitions: 8 };
const text = new TextDecoder();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

// Every series once, as a fleet does every interval; then bodies of later rounds.
for (let b = 0; b < workload.bodiesPerRound; b++) {
  decodeNative(text.decode(workload.body("native", 1000 + b)), NDJSON, ctx);
}
const bodies = Array.from({ length: BODIES }, (_, b) => workload.body("native", b));
let appended = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    const ms = { utf8: 0, decode: 0, hash: 0, appendPath: 0 };
    for (const bytes of bodies) {
      const c0 = cpuMs();
      const body = text.decode(bytes);
      const c1 = cpuMs();
      const result = decodeNative(body, NDJSON, ctx);
      const c2 = cpuMs();
      const key = createHash("sha256").update(bytes).digest("hex");
      const c3 = cpuMs();
      await appendSamples(target, result.batch, `${key}-${appended++}`);
      const c4 = cpuMs();
      if (result.acceptedSamples !== 10_000) throw new Error(`${result.acceptedSamples} samples accepted`);
      ms.utf8 += c1 - c0;
      ms.decode += c2 - c1;
      ms.hash += c3 - c2;
      ms.appendPath += c4 - c3;
    }
    const total = (ms.utf8 + ms.decode + ms.hash + ms.appendPath) / BODIES;
    console.log(
      `round ${round + 1}: ms CPU per 10k×1 body: utf8 ${(ms.utf8 / BODIES).toFixed(2)}, decode ${
        (ms.decode / BODIES).toFixed(2)
      }, hash ${(ms.hash / BODIES).toFixed(2)}, split + encode + append ${
        (ms.appendPath / BODIES).toFixed(2)
      }` +
        ` = ${total.toFixed(2)} → ${Math.round(10_000_000 / total).toLocaleString("en-US")} samples/CPU-s`,
    );
  }
} finally {
  await log.close();
  await Deno.remove(dir, { recursive: true });
}
