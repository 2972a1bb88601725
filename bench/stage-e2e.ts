/**
 * Stage `e2e`: samples/s from the first POST until a count over the query API returns
 * the full total, for the real program (`main.ts`, embedded log + chDB, as a
 * subprocess; also with its log on a Kafka broker started here, `lookout-kafka` through kafkajs and
 * `lookout-kafka-platformatic` through @platformatic/kafka) and for
 * VictoriaMetrics on the same samples, each fed by `loadgen.ts` in its own process. For
 * the Kafka targets the server CPU is Lookout's plus the broker's, both on this machine.
 *
 * Each server first gets one warm-up round (every series new, reported as "cold"),
 * is waited on until it has all of it, then gets `--rounds` more rounds over the same
 * series ("steady"), which is what a metrics backend mostly does.
 *
 * Fairness of "queryable":
 * - Lookout: `POST /v1/query` with `agg: "count"`, `by: []`, `resolution: "raw"` over
 *   the whole time range, until it returns every sample sent. It answers through the
 *   `series` table, so the series index must be written too. The query costs about as
 *   much CPU as a small batch, so it is only sent once the raw projection's lag on
 *   /metrics reads 0 (polled every 100 ms); otherwise polling would slow the
 *   projection it waits for.
 * - VictoriaMetrics: one `GET /internal/force_flush` after the last acknowledged POST
 *   (VM otherwise makes buffered rows searchable within about a second; the flush
 *   gives it its best case), then `sum(count_over_time(bench_metric[…]))` at the last
 *   timestamp with the response cache off, every 100 ms until complete.
 * The time and the server's CPU (user + system of all its threads, /proc/<pid>/stat)
 * both run from the first POST to that answer. For Lookout the stage then also waits
 * for the rollup projection to catch up and reports when it did.
 *
 * deno run -A bench/stage-e2e.ts [--quick] [--rounds N] [--points-per-line N] [--cpu-prof DIR]
 *   [--concurrency N] [--only lookout-normal,lookout-full,lookout-kafka,lookout-kafka-platformatic,vm-json,vm-influx] [--out file]
 *   (--cpu-prof: V8 CPU profiles of the Lookout server processes into DIR)
 */
import { join } from "node:path";
import { startKafka, waitUntil } from "./kafka-broker.ts";
import { argValue, cpuSeconds, fmt, peakRssMiB, workDir, writeResult } from "./proc.ts";
import type { LoadResult } from "./loadgen.ts";
import { spawnLogged } from "./logged-process.ts";
import { spawnLoadgen } from "./loadgen-process.ts";
import { METRIC, type WireFormat, Workload } from "./workload.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const ROOT = new URL("..", import.meta.url).pathname;
const SERIES = 100_000;
const SAMPLES_PER_BODY = 10_000;
const POINTS_PER_LINE = Number(argValue(args, "--points-per-line") ?? 1);
const ROUNDS = Number(argValue(args, "--rounds") ?? Math.ceil((quick ? 3 : 10) / POINTS_PER_LINE));
const CONCURRENCY = Number(argValue(args, "--concurrency") ?? 4);
const STEP_MS = 10_000;
const API_KEY = "bench-key-0001";
const POLL_MS = 100;
const QUERYABLE_TIMEOUT_MS = 600_000;

interface Server {
  readonly pid: number;
  /** Other processes doing the server's work (the Kafka broker), counted in its CPU. */
  readonly helperPids?: readonly number[];
  readonly ingestUrl: string;
  readonly headers: Record<string, string>;
  readonly format: WireFormat;
  /** Called once after the last acknowledged POST. */
  beforeCount?(): Promise<void>;
  /** A cheap sign that a count may now be complete, polled before each count query. */
  maybeComplete?(): Promise<boolean>;
  count(): Promise<number>;
  /** Samples the rollup projection still has to process, when the server has one. */
  rollupLag?(): Promise<number>;
  stop(): Promise<void>;
}

interface Target {
  /** For `--only`: lookout-normal, lookout-full, vm-json, vm-influx. */
  readonly id: string;
  readonly name: string;
  start(dir: string, port: number): Promise<Server>;
}

const baseMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const workload = new Workload({
  series: SERIES,
  samplesPerBody: SAMPLES_PER_BODY,
  pointsPerLine: POINTS_PER_LINE,
  baseMs,
  stepMs: STEP_MS,
});
/** Round 0 warms up (every series new); rounds 1…ROUNDS are the steady measurement. */
const lastMs = workload.lastTimestamp(1 + ROUNDS);
const total = ROUNDS * workload.samplesPerRound;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function lookout(sync: "normal" | "full" | "kafka" | "kafka-platformatic"): Target {
  return {
    id: `lookout-${sync}`,
    name: sync === "kafka"
      ? "Lookout (log on Kafka, same machine)"
      : sync === "kafka-platformatic"
      ? "Lookout (log on Kafka, @platformatic/kafka)"
      : `Lookout (log sync=${sync})`,
    async start(dir, port) {
      const kafka = sync.startsWith("kafka") ? await startKafka(dir) : undefined;
      const profile = argValue(args, "--cpu-prof");
      const flags = profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`];
      const { child, stop: stopLookout } = spawnLogged(Deno.execPath(), ["run", "-A", ...flags, "main.ts"], {
        cwd: ROOT,
        env: {
          PORT: String(port),
          LOOKOUT_DATA_DIR: join(dir, "data"),
          LOOKOUT_TENANTS: `bench:${API_KEY}`,
          ...(kafka
            ? {
              LOOKOUT_KAFKA_BROKERS: kafka.brokers,
              LOOKOUT_KAFKA_CLIENT: sync === "kafka" ? "kafkajs" : "platformatic",
            }
            : { LOOKOUT_LOG_SYNC: sync }),
        },
      }, join(dir, "server.log"));
      const stop = async () => {
        await stopLookout();
        await kafka?.stop();
      };
      const url = `http://127.0.0.1:${port}`;
      const auth = { authorization: `Bearer ${API_KEY}` };
      // Generous: on a machine shared with other work, start-up (chDB, the broker's topics) can take minutes.
      await waitUntil("Lookout /readyz", async () => (await fetch(`${url}/readyz`)).status === 200, 300_000);
      return {
        pid: child.pid,
        helperPids: kafka ? [kafka.pid] : [],
        ingestUrl: `${url}/v1/samples`,
        headers: auth,
        format: "native",
        async count() {
          const step = Math.ceil((lastMs + 1 - baseMs) / 60_000) * 60_000;
          const response = await fetch(`${url}/v1/query`, {
            method: "POST",
            headers: { ...auth, "content-type": "application/json" },
            body: JSON.stringify({
              metric: METRIC,
              agg: "count",
              by: [],
              from: baseMs,
              to: lastMs + 1,
              step,
              resolution: "raw",
            }),
          });
          if (!response.ok) throw new Error(`count query: ${response.status} ${await response.text()}`);
          const body = await response.json() as { series: { points: [number, number][] }[] };
          return body.series.reduce((n, s) => n + s.points.reduce((m, [, v]) => m + Number(v), 0), 0);
        },
        maybeComplete: async () => (await projectionLag(url, "raw")) === 0,
        rollupLag: () => projectionLag(url, "rollup"),
        stop,
      };
    },
  };
}

/** Log records a Lookout projection group has not processed yet, from its /metrics. */
async function projectionLag(url: string, group: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let lag = 0;
  let found = false;
  for (const m of text.matchAll(/^lookout_projection_lag_records\{([^}]*)\} (\d+)/gm)) {
    if (!m[1].includes(`group="${group}"`)) continue;
    lag += Number(m[2]);
    found = true;
  }
  if (!found) throw new Error(`no lookout_projection_lag_records for group "${group}" in /metrics`);
  return lag;
}

function victoriaMetrics(format: "vm-json" | "influx"): Target {
  return {
    id: format === "vm-json" ? "vm-json" : "vm-influx",
    name: `VictoriaMetrics (${format === "vm-json" ? "/api/v1/import JSON lines" : "/write Influx lines"})`,
    async start(dir, port) {
      const { child, stop } = spawnLogged(
        "victoria-metrics",
        [
          `-storageDataPath=${join(dir, "vm")}`,
          `-httpListenAddr=127.0.0.1:${port}`,
          "-influxSkipSingleField",
          "-search.disableCache",
          "-loggerLevel=ERROR",
        ],
        {},
        join(dir, "server.log"),
      );
      const url = `http://127.0.0.1:${port}`;
      await waitUntil(
        "VictoriaMetrics /health",
        async () => (await fetch(`${url}/health`)).status === 200,
        30_000,
      );
      const windowSeconds = Math.ceil((lastMs - baseMs) / 1000) + 60;
      return {
        pid: child.pid,
        ingestUrl: `${url}${format === "vm-json" ? "/api/v1/import" : "/write"}`,
        headers: {},
        format,
        async beforeCount() {
          await (await fetch(`${url}/internal/force_flush`)).text();
        },
        async count() {
          const query = `sum(count_over_time(${METRIC}[${windowSeconds}s]))`;
          const params = new URLSearchParams({ query, time: String((lastMs + 1) / 1000), nocache: "1" });
          const response = await fetch(`${url}/api/v1/query?${params}`);
          if (!response.ok) throw new Error(`count query: ${response.status} ${await response.text()}`);
          const body = await response.json() as { data: { result: { value: [number, string] }[] } };
          return body.data.result.reduce((n, r) => n + Number(r.value[1]), 0);
        },
        stop,
      };
    },
  };
}

export interface PhaseResult {
  readonly samples: number;
  /** First POST → last 202/204. */
  readonly acceptSeconds: number;
  /** First POST → the count query returns every sample sent so far. */
  readonly queryableSeconds: number;
  readonly samplesPerSecond: number;
  readonly acceptedPerSecond: number;
  /** Server CPU (user + system, all threads) from the first POST to queryable. */
  readonly serverCpuSeconds: number;
  readonly serverCoresBusy: number;
  readonly samplesPerCpuSecond: number;
  /** Server CPU from the first POST to the last acknowledgement. */
  readonly serverCpuAtAckSeconds: number;
  readonly acceptedPerCpuSecond: number;
  readonly loadgenCpuSeconds: number;
  readonly countPolls: number;
  /** First POST → the rollup projection has no lag left (Lookout only). */
  readonly rollupCaughtUpSeconds?: number;
  readonly load: LoadResult;
}

export interface E2eResult {
  readonly target: string;
  /** Round 0: every series is new. */
  readonly cold: PhaseResult;
  /** The following rounds, over known series. */
  readonly steady: PhaseResult;
  readonly serverPeakRssMiB: number;
}

function loadgenArgs(server: Server, firstRound: number, rounds: number): string[] {
  return [
    "--format",
    server.format,
    "--url",
    server.ingestUrl,
    ...Object.entries(server.headers).flatMap(([k, v]) => ["--header", `${k}: ${v}`]),
    "--series",
    String(SERIES),
    "--samples-per-body",
    String(SAMPLES_PER_BODY),
    "--points-per-line",
    String(POINTS_PER_LINE),
    "--first-round",
    String(firstRound),
    "--rounds",
    String(rounds),
    "--concurrency",
    String(CONCURRENCY),
    "--base-ms",
    String(baseMs),
    "--step-ms",
    String(STEP_MS),
  ];
}

/** Sends rounds `firstRound…` and waits until all `storedAfter` samples are counted. */
async function phase(
  server: Server,
  firstRound: number,
  rounds: number,
  storedAfter: number,
): Promise<PhaseResult> {
  const loadgen = spawnLoadgen(loadgenArgs(server, firstRound, rounds), ROOT);
  await loadgen.ready;
  const cpu = () => [server.pid, ...(server.helperPids ?? [])].reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuAtStart = cpu();
  await loadgen.go();
  const load = await loadgen.result();
  const serverCpuAtAck = cpu() - cpuAtStart;
  await loadgen.ended();
  const samples = rounds * workload.samplesPerRound;
  if (load.samples !== samples) {
    throw new Error(`load generator sent ${load.samples} samples, ${samples} planned`);
  }

  await server.beforeCount?.();
  let polls = 0;
  let counted = 0;
  const until = Date.now() + QUERYABLE_TIMEOUT_MS;
  for (;;) {
    if (server.maybeComplete === undefined || await server.maybeComplete()) {
      counted = await server.count();
      polls++;
    }
    if (counted >= storedAfter || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const queryableAt = Date.now();
  const serverCpu = cpu() - cpuAtStart;
  if (counted !== storedAfter) throw new Error(`count query returned ${counted}, ${storedAfter} sent`);

  let rollupCaughtUpSeconds: number | undefined;
  if (server.rollupLag) {
    await waitUntil(
      "the rollup projection",
      async () => (await server.rollupLag!()) === 0,
      QUERYABLE_TIMEOUT_MS,
    );
    rollupCaughtUpSeconds = (Date.now() - load.firstPostAt) / 1000;
  }
  const queryableSeconds = (queryableAt - load.firstPostAt) / 1000;
  const acceptSeconds = (load.lastAckAt - load.firstPostAt) / 1000;
  return {
    samples,
    acceptSeconds,
    queryableSeconds,
    samplesPerSecond: samples / queryableSeconds,
    acceptedPerSecond: samples / acceptSeconds,
    serverCpuSeconds: serverCpu,
    serverCoresBusy: serverCpu / queryableSeconds,
    samplesPerCpuSecond: samples / serverCpu,
    serverCpuAtAckSeconds: serverCpuAtAck,
    acceptedPerCpuSecond: samples / serverCpuAtAck,
    loadgenCpuSeconds: load.cpuSeconds,
    countPolls: polls,
    rollupCaughtUpSeconds,
    load,
  };
}

async function runTarget(target: Target): Promise<E2eResult> {
  const dir = await workDir("e2e-");
  const server = await target.start(dir, freePort());
  let kept = false;
  try {
    const cold = await phase(server, 0, 1, workload.samplesPerRound);
    const steady = await phase(server, 1, ROUNDS, (1 + ROUNDS) * workload.samplesPerRound);
    return { target: target.name, cold, steady, serverPeakRssMiB: peakRssMiB(server.pid) };
  } catch (error) {
    // The data and the server's log stay for a post-mortem.
    kept = true;
    throw new Error(`${target.name}: ${(error as Error).message} (data and server.log kept in ${dir})`);
  } finally {
    await server.stop();
    if (!kept) await Deno.remove(dir, { recursive: true });
  }
}

function hasVictoriaMetrics(): boolean {
  try {
    return new Deno.Command("victoria-metrics", { args: ["-help"], stdout: "null", stderr: "null" })
      .outputSync()
      .success;
  } catch {
    return false;
  }
}

let targets: Target[] = [lookout("normal"), lookout("full"), lookout("kafka"), lookout("kafka-platformatic")];
if (hasVictoriaMetrics()) targets.push(victoriaMetrics("vm-json"), victoriaMetrics("influx"));
else console.error("e2e: victoria-metrics not found; run scripts/install-victoria-metrics.sh for the peer");
const only = argValue(args, "--only")?.split(",");
if (only) targets = targets.filter((t) => only.includes(t.id));

console.error(
  `e2e: 1 warm-up round + ${fmt.rate(total)} samples over ${
    fmt.rate(SERIES)
  } series, bodies of ${SAMPLES_PER_BODY} samples` +
    ` (${workload.seriesPerBody} lines × ${POINTS_PER_LINE}), ${CONCURRENCY} connections`,
);
const results: E2eResult[] = [];
for (const target of targets) {
  const r = await runTarget(target);
  results.push(r);
  for (const [name, p] of [["cold", r.cold], ["steady", r.steady]] as const) {
    console.error(
      `e2e ${r.target.padEnd(46)} ${name.padEnd(6)} ${
        fmt.rate(p.samples).padStart(9)
      } samples: accepted in ` +
        `${fmt.seconds(p.acceptSeconds)} s, queryable in ${fmt.seconds(p.queryableSeconds)} s = ` +
        `${fmt.rate(p.samplesPerSecond)} samples/s; server ${fmt.seconds(p.serverCpuSeconds)} CPU-s = ` +
        `${fmt.rate(p.samplesPerCpuSecond)} samples/CPU-s (accept only: ${
          fmt.rate(p.acceptedPerSecond)
        }/s, ` +
        `${fmt.rate(p.acceptedPerCpuSecond)}/CPU-s); loadgen ${fmt.seconds(p.loadgenCpuSeconds)} CPU-s` +
        (p.rollupCaughtUpSeconds !== undefined
          ? `; rollups caught up at ${fmt.seconds(p.rollupCaughtUpSeconds)} s`
          : ""),
    );
  }
}
let vmVersion: string | undefined;
try {
  const out = new Deno.Command("dpkg-query", { args: ["-W", "-f=${Version}", "victoria-metrics"] })
    .outputSync();
  if (out.success) vmVersion = new TextDecoder().decode(out.stdout);
} catch {
  // not a Debian system
}
await writeResult(args, {
  stage: "e2e",
  victoriaMetrics: vmVersion,
  series: SERIES,
  samplesPerBody: SAMPLES_PER_BODY,
  pointsPerLine: POINTS_PER_LINE,
  concurrency: CONCURRENCY,
  results,
});
