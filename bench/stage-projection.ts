/**
 * Stages `raw` and `rollup`: a log pre-filled with samples over 100k series (records
 * exactly as ingest writes them for bodies of 10k series × 1 point, 8 partitions), then
 * the real Projector with the real projection and chDB, timed from `start()` until the
 * group's committed offsets reach the end of every partition. The totals are checked in
 * ClickHouse afterwards.
 *
 * chDB allows one data directory per process, so each projection runs in its own
 * process: `deno run -A bench/stage-projection.ts raw|rollup [--quick] [--out file]`.
 * `--points-per-line N` makes the bodies N points × 10k/N series (same samples per record
 * batch, fewer series definitions); `--batch-records N` sets the projector's batch size
 * (1 mimics a projector that keeps up with live ingest); `--trace` prints every call.
 */
import { openSqliteLog } from "../adapters/embedded-log/sqlite-log.ts";
import { openClickHouseStore } from "../adapters/clickhouse/clickhouse-store.ts";
import { Projector } from "../adapters/projector.ts";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import type { Projection } from "../projections/projection.ts";
import { rawProjection } from "../projections/raw.ts";
import { rollupProjection } from "../projections/rollup.ts";
import { ensureSchema } from "../read-models/schema.ts";
import {
  argValue,
  cpuSeconds as processCpuSeconds,
  fmt,
  Meter,
  peakRssMiB,
  workDir,
  writeResult,
} from "./proc.ts";
import { fillLog, type RecordShape } from "./sample-records.ts";

const args = Deno.args;
const kind = args[0];
if (kind !== "raw" && kind !== "rollup") {
  console.error("usage: stage-projection.ts raw|rollup [--quick] [--out file]");
  Deno.exit(2);
}
const quick = args.includes("--quick");
const trace = args.includes("--trace");
const SERIES = 100_000;
const POINTS_PER_LINE = Number(argValue(args, "--points-per-line") ?? 1);
const SERIES_PER_BODY = 10_000 / POINTS_PER_LINE;
const ROUNDS = Number(argValue(args, "--rounds") ?? Math.ceil((quick ? 10 : 20) / POINTS_PER_LINE));
const TOTAL = SERIES * POINTS_PER_LINE * ROUNDS;
const PARTITIONS = 8;
const TOPIC = "metrics.samples";
const TENANT = "bench";
const STEP_MS = 10_000;
const BATCH_RECORDS = Number(argValue(args, "--batch-records") ?? 1000);
const SHAPE: RecordShape = {
  tenant: TENANT,
  series: SERIES,
  seriesPerBody: SERIES_PER_BODY,
  pointsPerLine: POINTS_PER_LINE,
  partitions: PARTITIONS,
  stepMs: STEP_MS,
};

/** Wraps methods so their time (until the promise settles) adds up under `label(name)`. */
function timed<T extends object>(target: T, label: (name: string, args: unknown[]) => string | undefined) {
  const totals: Record<string, { ms: number; cpuMs: number; calls: number }> = {};
  const proxy = new Proxy(target, {
    get(obj, name) {
      const value = Reflect.get(obj, name, obj);
      if (typeof value !== "function" || typeof name !== "string") return value;
      return (...callArgs: unknown[]) => {
        const key = label(name, callArgs);
        if (key === undefined) return value.apply(obj, callArgs);
        const start = performance.now();
        const startCpu = processCpuSeconds("self");
        const add = () => {
          const t = totals[key] ??= { ms: 0, cpuMs: 0, calls: 0 };
          t.ms += performance.now() - start;
          t.cpuMs += (processCpuSeconds("self") - startCpu) * 1000;
          t.calls++;
          if (trace) {
            const rss = Math.round(Deno.memoryUsage().rss / 2 ** 20);
            console.error(`  ${key}: ${(performance.now() - start).toFixed(1)} ms, rss ${rss} MiB`);
          }
        };
        const result = value.apply(obj, callArgs);
        if (result instanceof Promise) return result.finally(add);
        add();
        return result;
      };
    },
  });
  return { proxy, totals };
}

const dir = await workDir(`${kind}-`);
try {
  const baseMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
  await log.ensureTopic(TOPIC, PARTITIONS);
  const fillStart = performance.now();
  await fillLog(log, TOPIC, SHAPE, ROUNDS, baseMs);
  const records = (await log.offsets(TOPIC)).reduce((n, o) => n + o.end, 0);
  console.error(
    `${kind}: pre-filled ${fmt.rate(TOTAL)} samples over ${fmt.rate(SERIES)} series in ${records} records` +
      ` (bodies of ${SERIES_PER_BODY} series × ${POINTS_PER_LINE})` +
      ` (${((performance.now() - fillStart) / 1000).toFixed(1)} s)`,
  );

  const chdb = openClickHouseStore({ path: `${dir}/clickhouse` });
  await ensureSchema(chdb);
  const [{ version }] = await chdb.query<{ version: string }>("SELECT version() AS version");
  const store = timed<AnalyticsStore>(chdb, (name, callArgs) => {
    if (name === "insertBlock") return "insertBlock (encode, stage, INSERT…SELECT)";
    if (name === "insertRows") return `insertRows ${callArgs[0]} (JSONEachRow)`;
    if (name === "query") return "query";
    return undefined;
  });
  const base = kind === "raw" ? rawProjection({ topic: TOPIC }) : rollupProjection({ topic: TOPIC });
  const projection = timed<Projection<unknown>>(
    base as Projection<unknown>,
    (name) => name === "plan" ? "plan (decode records, build block)" : undefined,
  );
  const timedLog = timed(log, (name) => name === "commit" ? "log commit" : undefined);
  const errors: unknown[] = [];
  const projector = new Projector(projection.proxy, timedLog.proxy, store.proxy, {
    maxRecords: BATCH_RECORDS,
    onError: (_name, error) => {
      errors.push(error);
      console.error(`${kind}: projection error: ${error instanceof Error ? error.message : error}`);
    },
  });

  const meter = new Meter();
  const running = projector.start();
  for (;;) {
    const offsets = await log.offsets(TOPIC, base.name);
    if (offsets.every((o) => (o.committed ?? 0) >= o.end)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { wallSeconds, cpuSeconds } = meter.read();
  await projector.stop();
  await running;

  const check = kind === "raw"
    ? await chdb.query<{ rows: string; series: string }>(
      "SELECT (SELECT count() FROM samples) AS rows, (SELECT uniqExact(series_id) FROM series) AS series",
    )
    : await chdb.query<{ rows: string; hourly: string; late: string }>(
      `SELECT (SELECT sum(count) FROM rollup_1m) AS rows, (SELECT sum(count) FROM rollup_1h) AS hourly,
        (SELECT count() FROM late_samples) AS late`,
    );
  const stored = Number(check[0].rows);
  if (stored !== TOTAL) {
    throw new Error(`${kind}: ${stored} samples stored, ${TOTAL} expected (${JSON.stringify(check[0])})`);
  }
  if (errors.length > 0) throw new Error(`${kind}: projection errors: ${errors.map(String).join("; ")}`);

  const breakdown: Record<string, { ms: number; cpuMs: number; calls: number }> = {
    ...projection.totals,
    ...store.totals,
    ...timedLog.totals,
  };
  const accounted = Object.values(breakdown).reduce((n, t) => n + t.ms, 0);
  const accountedCpu = Object.values(breakdown).reduce((n, t) => n + t.cpuMs, 0);
  breakdown["rest (log read, scheduling, background merges)"] = {
    ms: wallSeconds * 1000 - accounted,
    cpuMs: cpuSeconds * 1000 - accountedCpu,
    calls: 0,
  };
  const result = {
    stage: kind,
    chdb: version,
    samples: TOTAL,
    series: SERIES,
    pointsPerLine: POINTS_PER_LINE,
    records,
    batchRecords: BATCH_RECORDS,
    wallSeconds,
    cpuSeconds,
    rowsPerSecond: TOTAL / wallSeconds,
    rowsPerCpuSecond: TOTAL / cpuSeconds,
    peakRssMiB: peakRssMiB("self"),
    check: check[0],
    breakdown,
  };
  console.error(
    `${kind}: ${fmt.rate(TOTAL)} samples in ${fmt.seconds(wallSeconds)} s wall, ${
      fmt.seconds(cpuSeconds)
    } CPU-s:` +
      ` ${fmt.rate(result.rowsPerSecond)} rows/s, ${
        fmt.rate(result.rowsPerCpuSecond)
      } rows/CPU-s (chDB ${version})`,
  );
  console.error(`  ${"".padEnd(52)}    wall      CPU  calls`);
  for (const [name, t] of Object.entries(breakdown)) {
    console.error(
      `  ${name.padEnd(52)} ${(t.ms / 1000).toFixed(2).padStart(5)} s ${
        (t.cpuMs / 1000).toFixed(2).padStart(6)
      } s` +
        `  ${String(t.calls).padStart(5)}`,
    );
  }
  await chdb.close();
  await log.close();
  await writeResult(args, result);
} finally {
  await Deno.remove(dir, { recursive: true });
}
