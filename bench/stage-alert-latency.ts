/**
 * Stage `alerts` (latency): how long a critical alert takes from the `202` of the request
 * carrying its breaching sample to a real webhook receiver, with the real program
 * (`main.ts`, embedded log, chDB, PGlite) as a subprocess, first idle and then under a
 * paced background load (`loadgen.ts --rate`, 200k samples/s by default, 100k series of
 * another metric, in its own process).
 *
 * One streaming rule (`alert_probe{service="probe"}`, `avg` over 1m by host, `for: 0s`,
 * critical > 90) with an `alertmanager-webhook` channel to a receiver in this process.
 * Each probe is one NDJSON sample of 97 for a new host stamped now, so each opens its own
 * incident and sends its own notification: the whole path (log, streaming evaluator,
 * incident event, read-model projection with the outbox, delivery worker, HTTP) runs
 * once per probe. Latency = arrival at the receiver − arrival of the `202`, both read on
 * this process's clock.
 *
 * deno run -A bench/stage-alert-latency.ts [--quick] [--rate 200000] [--seconds 60]
 *   [--probe-ms 250] [--out file]
 */
import { join } from "node:path";
import { waitUntil } from "./kafka-broker.ts";
import { spawnLogged } from "./logged-process.ts";
import { type LoadgenProcess, spawnLoadgen } from "./loadgen-process.ts";
import { argValue, cpuSeconds, fmt, freePortOf, workDir, writeResult } from "./proc.ts";
import { webhookReceiver } from "../tests/support/webhook-receiver.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const ROOT = new URL("..", import.meta.url).pathname;
const RATE = Number(argValue(args, "--rate") ?? 200_000);
const SECONDS = Number(argValue(args, "--seconds") ?? (quick ? 30 : 60));
const PROBE_MS = Number(argValue(args, "--probe-ms") ?? 250);
const IDLE_PROBES = quick ? 10 : 40;
const SERIES = 100_000;
const SAMPLES_PER_BODY = 10_000;
const KEY = "bench-alert-key-0001";
const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };

interface AlertsBody {
  alerts: { labels: Record<string, string> }[];
}

interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyPhase {
  readonly probes: number;
  readonly notified: number;
  /** From the 202's arrival to the notification's. */
  readonly ms: Quantiles;
  /** From sending the request to the notification's arrival. */
  readonly fromSentMs: Quantiles;
  /** Of that, from sending the request until the event store recorded `IncidentFired`. */
  readonly sentToRecordedMs: Quantiles;
  /** From the 202's arrival until `IncidentFired` was recorded (the evaluator's part). */
  readonly acceptedToRecordedMs: Quantiles;
  /** From `IncidentFired` recorded to the notification's arrival (projection, dispatch, delivery). */
  readonly recordedToNotifiedMs: Quantiles;
}

export interface AlertLatencyResult {
  readonly idle: LatencyPhase;
  readonly loaded: LatencyPhase & {
    readonly backgroundSamplesPerSecond: number;
    readonly backgroundTarget: number;
    readonly serverCpuSeconds: number;
    readonly wallSeconds: number;
    readonly loadAverage: string;
  };
}

const dir = await workDir("alert-latency-");
const port = freePortOf();
const url = `http://127.0.0.1:${port}`;
const hook = webhookReceiver<AlertsBody>();
const arrivals = new Map<string, number>();
const server = spawnLogged(Deno.execPath(), ["run", "-A", "main.ts"], {
  cwd: ROOT,
  env: {
    PORT: String(port),
    LOOKOUT_DATA_DIR: join(dir, "data"),
    LOOKOUT_TENANTS: `bench:${KEY}`,
    LOOKOUT_WEBHOOK_ALLOW_NETS: "127.0.0.0/8",
    // Every probe is its own notification; the default tenant rate would fold them into digests.
    LOOKOUT_NOTIFY_RATE_PER_MINUTE: "100000",
    LOOKOUT_NOTIFY_BURST: "100000",
  },
}, join(dir, "server.log"));

async function post(path: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify(body),
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

/** Sends one breaching sample for `host`; resolves with when it was sent and when its 202 arrived. */
async function probe(host: string): Promise<{ sent: number; accepted: number }> {
  const sent = Date.now();
  const line = {
    metric: "alert_probe",
    labels: { service: "probe", host },
    timestamps: [Date.now()],
    values: [97],
  };
  const response = await fetch(`${url}/v1/samples`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/x-ndjson" },
    body: JSON.stringify(line),
  });
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`probe ${host}: ${response.status}`);
  return { sent, accepted: Date.now() };
}

/** Probes every `PROBE_MS` until `until()` says stop, then waits up to 30 s for their notifications. */
async function probes(prefix: string, until: (sent: number) => boolean): Promise<LatencyPhase> {
  const accepted = new Map<string, { sent: number; accepted: number }>();
  const pending: Promise<void>[] = [];
  for (let i = 0; !until(i); i++) {
    const host = `${prefix}-${i}`;
    pending.push(probe(host).then((times) => void accepted.set(host, times)));
    await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
  }
  await Promise.all(pending);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && [...accepted.keys()].some((h) => !arrivals.has(h))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const notified = [...accepted].filter(([h]) => arrivals.has(h));
  const recorded = await firedAt();
  return {
    probes: accepted.size,
    notified: notified.length,
    ms: quantiles(notified.map(([h, t]) => arrivals.get(h)! - t.accepted)),
    fromSentMs: quantiles(notified.map(([h, t]) => arrivals.get(h)! - t.sent)),
    sentToRecordedMs: quantiles(
      notified.flatMap(([h, t]) => recorded.has(h) ? [recorded.get(h)! - t.sent] : []),
    ),
    acceptedToRecordedMs: quantiles(
      notified.flatMap(([h, t]) => recorded.has(h) ? [recorded.get(h)! - t.accepted] : []),
    ),
    recordedToNotifiedMs: quantiles(
      notified.flatMap(([h]) => recorded.has(h) ? [arrivals.get(h)! - recorded.get(h)!] : []),
    ),
  };
}

/** When the event store recorded each probe's `IncidentFired`, by host (from the incident timelines). */
async function firedAt(): Promise<Map<string, number>> {
  const get = async (path: string) => await (await fetch(`${url}${path}`, { headers: auth })).json();
  const { incidents } = await get("/v1/incidents?status=firing&limit=10000") as {
    incidents: { id: string; labels: Record<string, string> }[];
  };
  const recorded = new Map<string, number>();
  for (const incident of incidents) {
    const { timeline } = await get(`/v1/incidents/${incident.id}/timeline`) as {
      timeline: { type: string; recordedAt: string }[];
    };
    const fired = timeline.find((e) => e.type === "IncidentFired");
    if (fired) recorded.set(incident.labels.host, Date.parse(fired.recordedAt));
  }
  return recorded;
}

function quantiles(values: number[]): Quantiles {
  const sorted = values.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

function startLoad(): LoadgenProcess {
  return spawnLoadgen([
    "--format",
    "native",
    "--url",
    `${url}/v1/samples`,
    "--header",
    `authorization: Bearer ${KEY}`,
    "--series",
    String(SERIES),
    "--samples-per-body",
    String(SAMPLES_PER_BODY),
    "--rounds",
    String(Math.ceil((RATE * SECONDS) / SERIES)),
    "--rate",
    String(RATE),
    "--seconds",
    String(SECONDS),
    "--base-ms",
    String(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000),
  ], ROOT);
}

try {
  await waitUntil("Lookout /readyz", async () => (await fetch(`${url}/readyz`)).status === 200, 300_000);
  const channel = await post("/v1/channels", { name: "bench", type: "alertmanager-webhook", url: hook.url });
  await post("/v1/rules", {
    name: "probe_high",
    metric: "alert_probe",
    filters: { service: "probe" },
    agg: "avg",
    window: "1m",
    by: ["host"],
    condition: { op: ">", critical: 90, criticalRecovery: 80 },
    for: "0s",
    keepFiringFor: "0s",
    evaluationDelay: "0s",
    severity: "page",
    labels: {},
    annotations: { summary: "probe on {{host}}" },
    channels: [channel.id],
    mode: "streaming",
  });
  const record = setInterval(() => {
    for (const r of hook.received.splice(0)) {
      for (const a of r.body.alerts) if (!arrivals.has(a.labels.host)) arrivals.set(a.labels.host, r.at);
    }
  }, 5);
  // The evaluator learns of the rule through the log; the first probe that fires says it has.
  await waitUntil("the first probe's notification", async () => {
    await probe(`warm-${Date.now()}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return [...arrivals.keys()].some((h) => h.startsWith("warm-"));
  }, 120_000);
  const idle = await probes("idle", (i) => i >= IDLE_PROBES);
  const load = startLoad();
  await load.go();
  const cpuBefore = cpuSeconds(server.child.pid);
  const started = Date.now();
  let loadEnded = false;
  const finished = load.result().finally(() => loadEnded = true);
  const loaded = await probes("load", () => loadEnded || Date.now() - started > SECONDS * 1000);
  const background = await finished;
  await load.ended();
  clearInterval(record);
  const wallSeconds = (background.lastAckAt - background.firstPostAt) / 1000;
  const result: AlertLatencyResult = {
    idle,
    loaded: {
      ...loaded,
      backgroundSamplesPerSecond: background.samples / wallSeconds,
      backgroundTarget: RATE,
      serverCpuSeconds: cpuSeconds(server.child.pid) - cpuBefore,
      wallSeconds,
      loadAverage: Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" "),
    },
  };
  const show = (name: string, p: LatencyPhase) =>
    `${name}: ${p.notified}/${p.probes} notified, 202 → webhook p50 ${p.ms.p50} ms, p90 ${p.ms.p90} ms, ` +
    `p99 ${p.ms.p99} ms, max ${p.ms.max} ms; from the request sent p50 ${p.fromSentMs.p50} ms, ` +
    `p99 ${p.fromSentMs.p99} ms (of which until IncidentFired was recorded: p50 ${p.sentToRecordedMs.p50} ms, ` +
    `p99 ${p.sentToRecordedMs.p99} ms); 202 → recorded p50 ${p.acceptedToRecordedMs.p50} ms, p99 ${p.acceptedToRecordedMs.p99} ms, ` +
    `recorded → webhook p50 ${p.recordedToNotifiedMs.p50} ms, p99 ${p.recordedToNotifiedMs.p99} ms`;
  console.log(show("alert latency idle", idle));
  console.log(show("alert latency under load", loaded));
  console.log(
    `  background ${fmt.rate(result.loaded.backgroundSamplesPerSecond)} samples/s (target ${
      fmt.rate(RATE)
    }), ` +
      `server ${fmt.seconds(result.loaded.serverCpuSeconds)} CPU-s over ${fmt.seconds(wallSeconds)} s, ` +
      `load average ${result.loaded.loadAverage}`,
  );
  await writeResult(args, result);
} finally {
  await server.stop();
  await hook.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
