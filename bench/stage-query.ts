/**
 * `deno task bench query`: dashboard query latency of Lookout beside VictoriaMetrics on
 * the same data in the same run, both uncached (Lookout with
 * `LOOKOUT_QUERY_CACHE_ENTRIES=0`, VictoriaMetrics with `-search.disableCache` and
 * `nocache=1`).
 *
 * Data, sent to both in time order (so no sample is late for Lookout's rollups):
 * - `bench_cpu{region, host}`: `--series` series (default 10,000) every 15 s for 65 min;
 * - `bench_hourly{region, host}`: `--rollup-series` series (default 10,000) hourly for 30 days.
 *
 * Once both servers' background work on the load has settled (each under 5 % of a core
 * over 5 s), queries, each run alternately on both servers after warm-up, p50/p99 of wall latency
 * and each server's CPU per query (user + system time of its process across the
 * measured calls, steadier than wall time on a shared machine):
 * 1. one series over 1 hour: `bench_cpu{host="h42"}`, range 1 h, step 60 s;
 * 2. `avg by (region) (bench_cpu)` over every series, range 1 h, step 60 s (raw);
 * 3. 30 days × all hourly series by region at step 1 h: Lookout's `POST /v1/query`
 *    (`agg: avg, by: [region]`, answered from the 1h tier's packed days, once packed) beside VictoriaMetrics'
 *    `avg by (region) (avg_over_time(bench_hourly[1h]))`.
 *
 * `--keep` leaves both servers' data directories in `bench/.work/` for a profile.
 */
import { join } from "node:path";
import { argValue, cpuSeconds, describeMachine, workDir, writeResult } from "./proc.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const SERIES = Number(argValue(args, "--series") ?? (quick ? 2_000 : 10_000));
const ROLLUP_SERIES = Number(argValue(args, "--rollup-series") ?? (quick ? 1_000 : 10_000));
// p99 of 40 runs is their slowest one; of 200, the third slowest.
const RUNS = Number(argValue(args, "--runs") ?? (quick ? 15 : 200));
const KEY = "bench-query-key-1";
const ROOT = new URL("..", import.meta.url).pathname;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REGIONS = 10;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function spawn(command: string, commandArgs: string[], env: Record<string, string>, log: string) {
  const file = Deno.openSync(log, { write: true, create: true, append: true });
  const child = new Deno.Command(command, {
    args: commandArgs,
    env,
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  })
    .spawn();
  const done = Promise.all(
    [child.stdout, child.stderr].map((s) =>
      s.pipeTo(new WritableStream({ write: (chunk) => void file.writeSync(chunk) }))
    ),
  ).finally(() => file.close());
  return {
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await done.catch(() => {});
    },
  };
}

async function waitHealthy(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(url).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become healthy`);
}

const labelsOf = (s: number) => ({ region: `r${s % REGIONS}`, host: `h${s}` });

/** One request per timestamp, every series, oldest first. */
async function load(
  metric: string,
  series: number,
  times: number[],
  lookout: string,
  vm: string,
): Promise<void> {
  for (const t of times) {
    const lines: string[] = [];
    const vmLines: string[] = [];
    for (let s = 0; s < series; s++) {
      const value = (s * 7 + Math.floor(t / 15_000)) % 100;
      lines.push(
        `{"metric":"${metric}","labels":${
          JSON.stringify(labelsOf(s))
        },"timestamps":[${t}],"values":[${value}]}`,
      );
      vmLines.push(
        `{"metric":${
          JSON.stringify({ __name__: metric, ...labelsOf(s) })
        },"values":[${value}],"timestamps":[${t}]}`,
      );
    }
    const [a, b] = await Promise.all([
      fetch(`${lookout}/v1/samples`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/x-ndjson" },
        body: lines.join("\n"),
      }),
      fetch(`${vm}/api/v1/import`, { method: "POST", body: vmLines.join("\n") }),
    ]);
    if (a.status !== 202) throw new Error(`Lookout ingest ${a.status}: ${await a.text()}`);
    if (b.status !== 204) throw new Error(`VictoriaMetrics import ${b.status}: ${await b.text()}`);
    await a.body?.cancel();
    await b.body?.cancel();
  }
}

/** Waits until the 1h tier's closed hours are packed. */
async function packedHours(lookout: string, hours: number): Promise<void> {
  // The compactor packs once a minute, as by default.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const text = await (await fetch(`${lookout}/metrics`)).text();
    const packed = Number(/^lookout_rollup_packed_hours_total(?:\{\})? (\d+)/m.exec(text)?.[1] ?? 0);
    if (packed >= hours) return;
    if (Date.now() > deadline) throw new Error(`only ${packed} of ${hours} hours packed after 300 s`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * Waits until the process uses under 5 % of a core over 5 s (at most 10 minutes); the
 * share of a core over the last 5 s.
 */
async function settled(pid: number): Promise<number> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 5_000));
    const share = (cpuSeconds(pid) - before) / 5;
    if (share < 0.05 || Date.now() > deadline) return share;
  }
}

async function projectionLag(lookout: string): Promise<number> {
  const text = await (await fetch(`${lookout}/metrics`)).text();
  return [...text.matchAll(/^lookout_projection_lag_records\{[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

/** Wall ms of one call, and the CPU seconds the server spent meanwhile into `cpu`. */
async function timed(run: () => Promise<Response>, pid?: number, cpu?: number[]): Promise<number> {
  const before = pid === undefined ? 0 : cpuSeconds(pid);
  const started = performance.now();
  const res = await run();
  const body = await res.text();
  const ms = performance.now() - started;
  if (pid !== undefined) cpu?.push(cpuSeconds(pid) - before);
  if (!res.ok) throw new Error(`query answered ${res.status}: ${body.slice(0, 300)}`);
  return ms;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

interface Case {
  readonly name: string;
  readonly lookout: () => Promise<Response>;
  readonly vm: () => Promise<Response>;
  readonly target: string;
}

async function main(): Promise<void> {
  const dir = await workDir("query-");
  const lookoutUrl = `http://127.0.0.1:${freePort()}`;
  const vmUrl = `http://127.0.0.1:${freePort()}`;
  const lookout = spawn(Deno.execPath(), ["run", "-A", "main.ts"], {
    ...Deno.env.toObject(),
    PORT: new URL(lookoutUrl).port,
    LOOKOUT_DATA_DIR: join(dir, "lookout"),
    LOOKOUT_TENANTS: `bench:${KEY}`,
    LOOKOUT_LOG_SYNC: "normal",
    LOOKOUT_RAW_RETENTION_DAYS: "32",
    LOOKOUT_QUERY_CACHE_ENTRIES: "0",
    LOOKOUT_QUERY_MAX_SERIES: "200000",
  }, join(dir, "lookout.log"));
  const vm = spawn(
    "victoria-metrics",
    [
      `-storageDataPath=${join(dir, "vm")}`,
      `-httpListenAddr=${new URL(vmUrl).host}`,
      "-search.disableCache",
      "-search.latencyOffset=0s",
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
    ],
    Deno.env.toObject(),
    join(dir, "vm.log"),
  );
  try {
    await Promise.all([
      waitHealthy(`${lookoutUrl}/readyz`, "Lookout"),
      waitHealthy(`${vmUrl}/health`, "VictoriaMetrics"),
    ]);
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const rawTimes = Array.from({ length: 65 * 4 }, (_, i) => now - 65 * 60_000 + i * 15_000);
    const hourlyStart = Math.floor((now - 30 * DAY) / HOUR) * HOUR;
    const hourlyTimes = Array.from({ length: 30 * 24 }, (_, i) => hourlyStart + i * HOUR);
    const loadStarted = performance.now();
    await load("bench_hourly", ROLLUP_SERIES, hourlyTimes, lookoutUrl, vmUrl);
    await load("bench_cpu", SERIES, rawTimes, lookoutUrl, vmUrl);
    while (await projectionLag(lookoutUrl) > 0) await new Promise((r) => setTimeout(r, 500));
    // Closed once the watermark (the newest sample less the 5 minutes' lateness) passed
    // them, from the midnight of the first hourly sample.
    const closed = Math.floor((rawTimes[rawTimes.length - 1] - 300_000) / HOUR) * HOUR;
    await packedHours(lookoutUrl, (closed - Math.floor(hourlyStart / DAY) * DAY) / HOUR);
    await (await fetch(`${vmUrl}/internal/force_flush`)).text();
    console.log(
      `query: loaded ${SERIES} × ${rawTimes.length} raw and ${ROLLUP_SERIES} × ${hourlyTimes.length} hourly samples in ${
        ((performance.now() - loadStarted) / 1000).toFixed(0)
      } s`,
    );
    // A dashboard reads data written over days, not a backlog being merged: both servers'
    // background merges of the load finish before the queries start.
    const settledStarted = performance.now();
    const idle = await Promise.all([settled(lookout.pid), settled(vm.pid)]);
    console.log(
      `query: settled in ${((performance.now() - settledStarted) / 1000).toFixed(0)} s; idle CPU Lookout ${
        (idle[0] * 100).toFixed(1)
      } %, VictoriaMetrics ${(idle[1] * 100).toFixed(1)} % of a core`,
    );
    const headers = { authorization: `Bearer ${KEY}` };
    const range = (query: string, start: number, end: number, step: number) =>
      new URLSearchParams({
        query,
        start: String(start / 1000),
        end: String(end / 1000),
        step: String(step / 1000),
      });
    const promBoth = (query: string, start: number, end: number, step: number) => ({
      lookout: () => fetch(`${lookoutUrl}/api/v1/query_range?${range(query, start, end, step)}`, { headers }),
      vm: () => fetch(`${vmUrl}/api/v1/query_range?${range(query, start, end, step)}&nocache=1`),
    });
    const cases: Case[] = [
      {
        name: "one series, 1 h, step 60 s",
        ...promBoth('bench_cpu{host="h42"}', now - HOUR, now, 60_000),
        target: "faster than VM",
      },
      {
        name: `avg by (region) over ${SERIES} series, 1 h, step 60 s (raw)`,
        ...promBoth("avg by (region) (bench_cpu)", now - HOUR, now, 60_000),
        target: "faster than VM",
      },
      {
        name: `30 days × ${ROLLUP_SERIES} series by region, step 1 h (rollups)`,
        lookout: () =>
          fetch(`${lookoutUrl}/v1/query`, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json" },
            body: JSON.stringify({
              metric: "bench_hourly",
              agg: "avg",
              by: ["region"],
              from: now - 30 * DAY,
              to: now,
              step: HOUR,
            }),
          }),
        vm: () =>
          fetch(
            `${vmUrl}/api/v1/query_range?${
              range("avg by (region) (avg_over_time(bench_hourly[1h]))", now - 30 * DAY, now, HOUR)
            }&nocache=1`,
          ),
        target: "p99 < 100 ms",
      },
    ];
    const results = [];
    for (const c of cases) {
      for (let i = 0; i < 3; i++) await Promise.all([timed(c.lookout), timed(c.vm)]);
      const mine: number[] = [];
      const theirs: number[] = [];
      const myCpu: number[] = [];
      const theirCpu: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        mine.push(await timed(c.lookout, lookout.pid, myCpu));
        theirs.push(await timed(c.vm, vm.pid, theirCpu));
      }
      const row = {
        case: c.name,
        lookout: {
          p50: percentile(mine, 0.5),
          p99: percentile(mine, 0.99),
          cpuMs: (sum(myCpu) / RUNS) * 1000,
        },
        victoriaMetrics: {
          p50: percentile(theirs, 0.5),
          p99: percentile(theirs, 0.99),
          cpuMs: (sum(theirCpu) / RUNS) * 1000,
        },
        target: c.target,
        loadAverage: Deno.loadavg()[0],
      };
      results.push(row);
      console.log(
        `${c.name}: Lookout p50 ${row.lookout.p50.toFixed(1)} ms p99 ${row.lookout.p99.toFixed(1)} ms; ` +
          `VictoriaMetrics p50 ${row.victoriaMetrics.p50.toFixed(1)} ms p99 ${
            row.victoriaMetrics.p99.toFixed(1)
          } ms; ` +
          `p50 ratio VM/Lookout ${(row.victoriaMetrics.p50 / row.lookout.p50).toFixed(2)}×; ` +
          `CPU per query Lookout ${row.lookout.cpuMs.toFixed(1)} ms, VictoriaMetrics ${
            row.victoriaMetrics.cpuMs.toFixed(1)
          } ms; load ${row.loadAverage.toFixed(1)}`,
      );
    }
    await writeResult(args, {
      machine: describeMachine(),
      series: SERIES,
      rollupSeries: ROLLUP_SERIES,
      runs: RUNS,
      results,
    });
  } finally {
    await Promise.all([lookout.stop(), vm.stop()]);
    if (args.includes("--keep")) console.log(`data kept in ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
