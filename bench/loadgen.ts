/**
 * The load generator of the end-to-end stage, run in its own process so its CPU is
 * not the server's. It builds the body templates, prints `{"ready":true}`, waits for a
 * line on stdin, then POSTs the bodies of rounds `firstRound … firstRound + rounds − 1`
 * over `concurrency` keep-alive connections and prints one JSON line with what happened.
 *
 * A 429 or 503 is retried after a short pause (and counted); any other non-2xx status
 * stops the run, since a benchmark that drops batches measures nothing.
 *
 * deno run -A bench/loadgen.ts --format native|vm-json|influx --url URL [--header "k: v"]
 *   [--series 100000] [--samples-per-body 10000] [--points-per-line 1] [--first-round 0] [--rounds 30]
 *   [--concurrency 4] [--base-ms N] [--step-ms 10000] [--rate SAMPLES_PER_SECOND] [--seconds N]
 *
 * `--rate` paces the bodies (body k is not sent before k × body size ÷ rate seconds after
 * the first), for a steady background load; without it they go as fast as answered.
 * `--seconds` stops sending new bodies that long after the first, even if rounds remain.
 */
import { argValue, cpuSeconds } from "./proc.ts";
import { type WireFormat, Workload } from "./workload.ts";

export interface LoadResult {
  readonly samples: number;
  readonly bodies: number;
  readonly bytes: number;
  /** Epoch ms when the first request was sent and when the last response arrived. */
  readonly firstPostAt: number;
  readonly lastAckAt: number;
  readonly retries: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cpuSeconds: number;
}

const args = Deno.args;
const format = argValue(args, "--format") as WireFormat;
const url = argValue(args, "--url");
if (!format || !url) {
  console.error("usage: loadgen.ts --format native|vm-json|influx --url URL [options]");
  Deno.exit(2);
}
const number = (name: string, fallback: number) => Number(argValue(args, name) ?? fallback);
const headers: Record<string, string> = {};
args.forEach((a, i) => {
  if (a !== "--header") return;
  const [name, ...rest] = args[i + 1].split(":");
  headers[name.trim()] = rest.join(":").trim();
});
const workload = new Workload({
  series: number("--series", 100_000),
  samplesPerBody: number("--samples-per-body", 10_000),
  pointsPerLine: number("--points-per-line", 1),
  baseMs: number("--base-ms", Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000),
  stepMs: number("--step-ms", 10_000),
});
const firstRound = number("--first-round", 0);
const rounds = number("--rounds", 30);
const concurrency = number("--concurrency", 4);
const rate = number("--rate", 0);
const seconds = number("--seconds", Infinity);
const totalBodies = rounds * workload.bodiesPerRound;
const firstBody = firstRound * workload.bodiesPerRound;
headers["content-type"] = workload.contentType(format);

// Build every template before the clock starts.
for (let g = 0; g < workload.bodiesPerRound; g++) workload.body(format, g);
console.log(JSON.stringify({ ready: true }));
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
stdin.releaseLock();

const cpuBefore = cpuSeconds("self");
const latencies: number[] = [];
let next = 0;
let bytes = 0;
let retries = 0;
const firstPostAt = Date.now();

async function post(body: Uint8Array<ArrayBuffer>): Promise<void> {
  for (;;) {
    const started = performance.now();
    const response = await fetch(url!, { method: "POST", headers, body });
    const text = await response.text();
    if (response.ok) {
      latencies.push(performance.now() - started);
      return;
    }
    if (response.status === 429 || response.status === 503) {
      retries++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  }
}

async function worker(): Promise<void> {
  while (next < totalBodies && Date.now() - firstPostAt < seconds * 1000) {
    const k = next++;
    const body = workload.body(format, firstBody + k);
    if (rate > 0) {
      const due = firstPostAt + (k * workload.shape.samplesPerBody * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    bytes += body.byteLength;
    await post(body);
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const lastAckAt = Date.now();
latencies.sort((a, b) => a - b);
const result: LoadResult = {
  samples: next * workload.shape.samplesPerBody,
  bodies: next,
  bytes,
  firstPostAt,
  lastAckAt,
  retries,
  latencyMs: {
    p50: Math.round(latencies[Math.floor(latencies.length * 0.5)]),
    p99: Math.round(latencies[Math.floor(latencies.length * 0.99)]),
    max: Math.round(latencies[latencies.length - 1]),
  },
  cpuSeconds: cpuSeconds("self") - cpuBefore,
};
console.log(JSON.stringify(result));
