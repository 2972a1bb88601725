/**
 * Stage `projectors`: raw projection throughput with 1, 2 and 4 projector processes
 * sharing one Kafka consumer group. A broker of this run holds a samples topic
 * (8 partitions) pre-filled with records exactly as ingest writes them (bodies of 10k
 * series × 1 point over 100k series); then, for each process count, that many
 * processes join a fresh group and are timed from "go" until the group's committed
 * offsets reach the end of every partition. CPU is the processes' plus the broker's.
 *
 * chDB is owned by one process, so each projector process writes its own chDB store
 * here (a deployment points them all at one ClickHouse server with
 * `LOOKOUT_CLICKHOUSE_URL`); what is measured is how the log and the projector scale
 * out, and each run checks that the stores together hold every sample exactly once.
 *
 * deno run -A bench/stage-projectors.ts [--quick] [--processes 1,2,4] [--out file]
 * (a process started with `--member` is one projector; the stage starts them itself)
 */
import { join } from "node:path";
import { openClickHouseStore } from "../adapters/clickhouse/clickhouse-store.ts";
import { openKafkaLog } from "../adapters/kafka/kafka-log.ts";
import { Projector } from "../adapters/projector.ts";
import { rawProjection } from "../projections/raw.ts";
import { ensureSchema } from "../read-models/schema.ts";
import { startKafka } from "./kafka-broker.ts";
import { argValue, cpuSeconds, fmt, lineReader, workDir, writeResult } from "./proc.ts";
import { BODIES_10K, fillLog } from "./sample-records.ts";

const args = Deno.args;
const TOPIC = "metrics.samples";
const SHAPE = BODIES_10K;

if (args.includes("--member")) await member();
else await stage();

/** One projector process: prepares its store, says "ready", projects after "go", counts when stdin closes. */
async function member(): Promise<void> {
  const brokers = argValue(args, "--brokers")!.split(",");
  const group = argValue(args, "--group")!;
  const store = openClickHouseStore({ path: argValue(args, "--data")! });
  await ensureSchema(store);
  const log = openKafkaLog({ brokers, clientId: `bench-${group}` });
  const projector = new Projector(rawProjection({ topic: TOPIC, name: group }), log, store, {
    maxRecords: 1000,
    onError: (_name, error) => console.error(`projector ${group}: ${error}`),
  });
  const input = Deno.stdin.readable.getReader();
  console.log("ready");
  await input.read();
  void projector.start();
  await input.read(); // stdin closed: the group has committed everything
  const [{ rows }] = await store.query<{ rows: string }>("SELECT count() AS rows FROM samples");
  console.log(`rows ${rows}`);
  // Leaving the group is not measured; a member stuck in it must not hold up the run.
  await Promise.race([projector.stop(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  Deno.exit(0);
}

async function stage(): Promise<void> {
  const quick = args.includes("--quick");
  const rounds = quick ? 10 : 20;
  const total = SHAPE.series * rounds;
  const counts = (argValue(args, "--processes") ?? "1,2,4").split(",").map(Number);
  const dir = await workDir("projectors-");
  const kafka = await startKafka(dir);
  const results: Record<string, unknown>[] = [];
  try {
    const log = openKafkaLog({ brokers: [kafka.brokers], clientId: "bench-fill" });
    await log.ensureTopic(TOPIC, SHAPE.partitions);
    const baseMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    await fillLog(log, TOPIC, SHAPE, rounds, baseMs);
    console.error(`projectors: pre-filled ${fmt.rate(total)} samples on Kafka`);
    for (const n of counts) {
      const result = await measure(n, kafka.brokers, kafka.pid, dir, log, total);
      results.push(result);
      const base = results[0] as { perCpuSecond: number; perSecond: number };
      console.error(
        `projectors: ${n} process(es): ${fmt.rate(result.perSecond)} samples/s wall ` +
          `(${(result.perSecond / base.perSecond).toFixed(2)}× of 1), ${fmt.rate(result.perCpuSecond)} ` +
          `samples/CPU-s (${(result.perCpuSecond / base.perCpuSecond).toFixed(2)}×), ` +
          `${fmt.seconds(result.wallSeconds)} s, load ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
      );
    }
    await log.close();
  } finally {
    await kafka.stop();
  }
  await writeResult(args, { stage: "projectors", samples: total, results });
}

async function measure(
  n: number,
  brokers: string,
  brokerPid: number,
  dir: string,
  log: ReturnType<typeof openKafkaLog>,
  total: number,
) {
  const group = `raw-${n}`;
  const script = new URL(import.meta.url).pathname;
  const children = Array.from({ length: n }, (_, i) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        script,
        "--member",
        "--brokers",
        brokers,
        "--group",
        group,
        "--data",
        join(dir, `${group}-${i}`),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn());
  const lines = children.map((child) => lineReader(child.stdout));
  for (const next of lines) if ((await next()) !== "ready") throw new Error("a projector did not start");
  const cpuBefore = children.reduce((s, c) => s + cpuSeconds(c.pid), 0) + cpuSeconds(brokerPid);
  const started = performance.now();
  const writers = children.map((child) => child.stdin.getWriter());
  await Promise.all(writers.map((w) => w.write(new TextEncoder().encode("go\n"))));
  for (;;) {
    const offsets = await log.offsets(TOPIC, group);
    if (offsets.every((o) => (o.committed ?? 0) >= o.end)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = children.reduce((s, c) => s + cpuSeconds(c.pid), 0) + cpuSeconds(brokerPid) - cpuBefore;
  await Promise.all(writers.map((w) => w.close()));
  let stored = 0;
  for (const next of lines) stored += Number((await next())?.replace("rows ", ""));
  await Promise.all(children.map((c) => c.status));
  // A batch written but not committed when the group first rebalanced is projected again
  // by the partition's next owner into another store here (one shared server would drop
  // it by its deduplication token), so more rows than samples is reported, not fatal.
  if (stored < total) throw new Error(`${n} projectors stored ${stored} samples, ${total} expected`);
  return {
    processes: n,
    wallSeconds,
    cpuSeconds: cpu,
    perSecond: total / wallSeconds,
    perCpuSecond: total / cpu,
    reprojected: stored - total,
  };
}
