/**
 * Ingest per protocol, beside VictoriaMetrics on the same bodies in the same run:
 * samples accepted per CPU second.
 *
 * - Lookout: the real Hono app in this process (`app.request`, no sockets): body
 *   reading and decompression, decode + validate (series cache warm, as for a fleet
 *   that sends the same series every interval), idempotency hash, split + encode and
 *   append to the embedded log with `sync=normal`. CPU is this process's.
 * - VictoriaMetrics: each peer on loopback fed the same bodies over HTTP by this
 *   process, 4 at a time, after a warm round that creates every series; CPU is the
 *   server process's (it acknowledges once the samples are in memory). Debian's 1.79
 *   package (`victoria-metrics`) speaks remote write 1.0, Influx and Datadog v1; a
 *   current release built from the Go module proxy (`scripts/build-victoria-metrics.sh`,
 *   found through `LOOKOUT_BENCH_VM_CURRENT` or that script's default path) also speaks
 *   OTLP protobuf. A protocol a peer refuses (status ≥ 300 in the warm round) has no
 *   figure from it.
 *
 * Run: deno run -A bench/stage-protocols.ts [--quick] [--only=influx,otlp-protobuf] [--rounds=N]
 *   [--no-peers] [--out file.json]
 */
import { join } from "node:path";
import { createApp } from "../adapters/http/app.ts";
import { TenantDirectory } from "../adapters/http/tenants.ts";
import { Telemetry } from "../adapters/telemetry.ts";
import { openSqliteLog } from "../adapters/embedded-log/sqlite-log.ts";
import { defaultLabelLimits } from "../domain/label-rules.ts";
import { cpuSeconds, fmt, freePortOf, workDir, writeResult } from "./proc.ts";
import { type Bodies, type Protocol, protocolBodies } from "./protocol-bodies.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const SERIES = quick ? 20_000 : 50_000;
const ROUNDS = Number(
  args.find((a) => a.startsWith("--rounds="))?.slice("--rounds=".length) ?? (quick ? 3 : 6),
);
const KEY = "bench-protocols-key";
const ALL_PROTOCOLS: readonly Protocol[] = [
  "remote-write-1",
  "remote-write-2",
  "influx",
  "datadog-v1",
  "otlp-json",
  "otlp-protobuf",
];
const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const PROTOCOLS = only ? ALL_PROTOCOLS.filter((p) => only.includes(p)) : ALL_PROTOCOLS;
const VM_PATHS: Partial<Record<Protocol, string>> = {
  "remote-write-1": "/api/v1/write",
  influx: "/write?precision=ms",
  "datadog-v1": "/datadog/api/v1/series",
};
const CURRENT_VM_PATHS: Partial<Record<Protocol, string>> = {
  ...VM_PATHS,
  "remote-write-2": "/api/v1/write",
  "otlp-protobuf": "/opentelemetry/v1/metrics",
};

interface Peer {
  readonly name: string;
  readonly binary: string;
  readonly paths: Partial<Record<Protocol, string>>;
}
const LOOKOUT_PATHS: Record<Protocol, string> = {
  "remote-write-1": "/api/v1/write",
  "remote-write-2": "/api/v1/write",
  influx: "/api/v2/write?precision=ms",
  "datadog-v1": "/api/v1/series",
  "otlp-json": "/v1/metrics",
  "otlp-protobuf": "/v1/metrics",
};

export interface ProtocolResult {
  readonly protocol: Protocol;
  readonly samples: number;
  readonly lookoutPerCpuSecond: number;
  readonly lookoutPerSecond: number;
  /** Debian's VictoriaMetrics 1.79, where it speaks the protocol. */
  readonly vmPerCpuSecond?: number;
  readonly vmPerSecond?: number;
  readonly ratio?: number;
  /** Every peer that took the protocol, with Lookout's per-CPU ratio to it. */
  readonly peers: readonly PeerFigure[];
}

export interface PeerFigure {
  readonly name: string;
  readonly perCpuSecond: number;
  readonly perSecond: number;
  readonly ratio: number;
}

function headersOf(bodies: Bodies): Record<string, string> {
  return {
    "content-type": bodies.contentType,
    ...(bodies.contentEncoding ? { "content-encoding": bodies.contentEncoding } : {}),
  };
}

async function lookout(dir: string, protocol: Protocol, bodies: Bodies) {
  const log = openSqliteLog({ path: join(dir, `${protocol}.sqlite`), sync: "normal" });
  await log.ensureTopic("metrics.samples", 8);
  const telemetry = new Telemetry();
  const app = createApp({
    tenants: TenantDirectory.fromSpec(`bench:${KEY}`),
    telemetry,
    ready: () => true,
    ingest: {
      sampleLog: { log, topic: "metrics.samples", partitions: 8 },
      telemetry,
      body: { maxCompressedBytes: 64 << 20, maxDecompressedBytes: 256 << 20 },
      labels: defaultLabelLimits,
      rawRetentionMs: 7 * 86_400_000,
      maxFutureMs: 600_000,
      now: Date.now,
    },
  });
  const headers = { ...headersOf(bodies), authorization: `Bearer ${KEY}` };
  const send = async (body: Uint8Array) => {
    const res = await app.request(LOOKOUT_PATHS[protocol], { method: "POST", body: body.slice(), headers });
    if (res.status >= 300) throw new Error(`${protocol}: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  };
  for (const body of bodies.rounds[0]) await send(body); // warm: every series known
  const cpu0 = cpuSeconds("self");
  const wall0 = performance.now();
  let samples = 0;
  for (const round of bodies.rounds.slice(1)) {
    for (const body of round) {
      await send(body);
      samples += bodies.samplesPerBody;
    }
  }
  const cpu = cpuSeconds("self") - cpu0;
  const wall = (performance.now() - wall0) / 1000;
  await log.close();
  return { samples, perCpuSecond: samples / cpu, perSecond: samples / wall };
}

/** The peer's figures, or undefined when it refuses the protocol's bodies. */
async function victoriaMetrics(binary: string, dir: string, path: string, bodies: Bodies) {
  const port = freePortOf();
  const child = new Deno.Command(binary, {
    args: [`-storageDataPath=${join(dir, "vm")}`, `-httpListenAddr=127.0.0.1:${port}`, "-loggerLevel=ERROR"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 300; i++) {
      const ok = await fetch(`${url}/health`).then((r) => r.text().then(() => r.ok), () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const headers = headersOf(bodies);
    const send = async (body: Uint8Array, attempt = 0): Promise<void> => {
      let res: Response;
      try {
        res = await fetch(url + path, { method: "POST", body: body.slice(), headers });
      } catch (error) {
        // VictoriaMetrics closes a kept-alive connection now and then; one retry.
        if (attempt === 0) return send(body, 1);
        throw error;
      }
      const text = await res.text();
      if (res.status >= 300) throw new Refused(`${binary} ${path}: ${res.status} ${text.slice(0, 200)}`);
    };
    const sendAll = async (list: Uint8Array[]) => {
      const queue = [...list];
      const worker = async () => {
        for (let b = queue.shift(); b !== undefined; b = queue.shift()) await send(b);
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    };
    try {
      await sendAll(bodies.rounds[0]);
      // A 2xx is not enough: a release that does not know a format may answer 204 and
      // store nothing, so the warm round must have created every series.
      await fetch(`${url}/internal/force_flush`).then((r) => r.text());
      const count = await fetch(`${url}/api/v1/series/count`).then((r) => r.json());
      const stored = Number(count?.data?.[0] ?? 0);
      const sent = bodies.rounds[0].length * bodies.samplesPerBody;
      if (stored < sent) throw new Refused(`${binary} ${path}: stored ${stored} of ${sent} series`);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      console.error(`protocols: ${error.message}`);
      return undefined;
    }
    const cpu0 = cpuSeconds(child.pid);
    const wall0 = performance.now();
    const measured = bodies.rounds.slice(1).flat();
    await sendAll(measured);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const wall = (performance.now() - wall0) / 1000;
    const samples = measured.length * bodies.samplesPerBody;
    return { perCpuSecond: samples / cpu, perSecond: samples / wall };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

class Refused extends Error {}

/** The peer's version line, or undefined when the binary does not run. */
function versionOf(binary: string): string | undefined {
  try {
    const out = new Deno.Command(binary, { args: ["-version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() || binary : undefined;
  } catch {
    return undefined;
  }
}

function peers(): Peer[] {
  const found: Peer[] = [];
  const debian = versionOf("victoria-metrics");
  if (debian) found.push({ name: debian, binary: "victoria-metrics", paths: VM_PATHS });
  else console.error("protocols: victoria-metrics not found; run scripts/install-victoria-metrics.sh");
  const current = Deno.env.get("LOOKOUT_BENCH_VM_CURRENT") ??
    "/usr/local/lib/lookout/victoria-metrics-v1.151.0/victoria-metrics";
  const version = versionOf(current);
  if (version) found.push({ name: version, binary: current, paths: CURRENT_VM_PATHS });
  else console.error(`protocols: no ${current}; run scripts/build-victoria-metrics.sh`);
  return found;
}

const dir = await workDir("protocols-");
const results: ProtocolResult[] = [];
// --no-peers: Lookout alone, e.g. under --cpu-prof.
const PEERS = args.includes("--no-peers") ? [] : peers();
try {
  for (const protocol of PROTOCOLS) {
    const bodies = await protocolBodies(protocol, {
      series: SERIES,
      seriesPerBody: 10_000,
      rounds: ROUNDS,
      baseMs: Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000,
      stepMs: 10_000,
    });
    const ours = await lookout(dir, protocol, bodies);
    const figures: PeerFigure[] = [];
    for (const [i, peer] of PEERS.entries()) {
      const path = peer.paths[protocol];
      const vm = path
        ? await victoriaMetrics(peer.binary, join(dir, `${protocol}-${i}`), path, bodies)
        : undefined;
      if (vm) figures.push({ name: peer.name, ...vm, ratio: ours.perCpuSecond / vm.perCpuSecond });
    }
    const debian = figures.find((f) => f.name === PEERS.find((p) => p.binary === "victoria-metrics")?.name);
    const result: ProtocolResult = {
      protocol,
      samples: ours.samples,
      lookoutPerCpuSecond: ours.perCpuSecond,
      lookoutPerSecond: ours.perSecond,
      ...(debian
        ? { vmPerCpuSecond: debian.perCpuSecond, vmPerSecond: debian.perSecond, ratio: debian.ratio }
        : {}),
      peers: figures,
    };
    results.push(result);
    console.error(
      `ingest ${protocol.padEnd(15)} Lookout ${
        fmt.rate(result.lookoutPerCpuSecond).padStart(10)
      } samples/CPU-s` +
        (figures.length === 0
          ? "  (no peer)"
          : figures.map((f) =>
            `  ${f.name} ${fmt.rate(f.perCpuSecond)} samples/CPU-s, ratio ${f.ratio.toFixed(2)}×`
          ).join("")),
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
await writeResult(args, { stage: "protocols", series: SERIES, rounds: ROUNDS, results });
